// Reads the runnable examples of docs/query.md: each ```sh block holding one curl command, paired with
// the code block that follows it (the output the doc promises), and runs them through the API.

import type { FastifyInstance } from 'fastify';

export interface DocExample {
  /** Line of the curl block in the document (1-based), for failure messages. */
  line: number;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path and query string, e.g. /v1/graphs/demo/query?at=0. */
  path: string;
  body: string | null;
  /** `-w '%{http_code}'`: the doc shows the status code instead of the body. */
  statusOnly: boolean;
  /** The promised output, verbatim. */
  expected: string;
}

interface Block {
  lang: string;
  text: string;
  line: number;
}

function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
    out.push({ lang: open[1]!, text: body.join('\n'), line: start + 1 });
  }
  return out;
}

function parseCurl(command: string, line: number): Omit<DocExample, 'expected'> {
  const url = /'?(?:http:\/\/)?localhost:8080(\/[^\s']*)'?/.exec(command);
  if (!url) throw new Error(`docs/query.md:${line}: curl without a localhost:8080 URL`);
  const data = /-d '([\s\S]*)'\s*$/.exec(command);
  return {
    line,
    method: (/-X (POST|PUT|DELETE)/.exec(command)?.[1] as 'POST' | 'PUT' | 'DELETE' | undefined) ?? (data ? 'POST' : 'GET'),
    path: url[1]!,
    body: data ? data[1]! : null,
    statusOnly: command.includes("-w '%{http_code}"),
  };
}

export function docExamples(markdown: string): DocExample[] {
  const all = blocks(markdown);
  const examples: DocExample[] = [];
  all.forEach((b, i) => {
    if (b.lang !== 'sh' || !b.text.trimStart().startsWith('curl ')) return;
    const next = all[i + 1];
    if (next === undefined || next.lang === 'sh') throw new Error(`docs/query.md:${b.line}: a curl example needs its output block after it`);
    examples.push({ ...parseCurl(b.text, b.line), expected: next.text });
  });
  return examples;
}

/** Runs one example through the app, returning what curl would print (without the trailing newline). */
export async function runExample(app: FastifyInstance, ex: DocExample): Promise<string> {
  const res = await app.inject({
    method: ex.method,
    url: ex.path,
    ...(ex.body === null ? {} : { payload: ex.body, headers: { 'content-type': 'application/json' } }),
  });
  return ex.statusOnly ? String(res.statusCode) : res.body;
}
