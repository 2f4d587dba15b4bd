// A per-graph "last produced offset" file for the derived-topic producers (changes, view changelogs).
// At-least-once delivery makes a stale value harmless: it only means re-producing a chunk.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export class OffsetFile {
  /** `dir` holds one `<graph>.offset` file per graph. */
  constructor(private readonly dir: string) {}

  private file(graph: string): string {
    return join(this.dir, `${graph}.offset`);
  }

  /** The saved offset, or -1 when nothing was produced yet. */
  async load(graph: string): Promise<number> {
    try {
      const offset = Number((await readFile(this.file(graph), 'utf8')).trim());
      return Number.isSafeInteger(offset) && offset >= -1 ? offset : -1;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return -1;
      throw err;
    }
  }

  /** Temp file + rename: a crash leaves the old offset or the new one, never a torn file. No fsync. */
  async save(graph: string, offset: number): Promise<void> {
    const file = this.file(graph);
    await mkdir(this.dir, { recursive: true });
    await writeFile(`${file}.tmp`, `${offset}\n`);
    await rename(`${file}.tmp`, file);
  }
}
