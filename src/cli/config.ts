// Configuration of `strata`: CLI flags > environment > optional JSON config file > defaults (DESIGN §9).

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

export interface StrataConfig {
  command: string;
  port: number;
  host: string;
  dataDir: string;
  broker: 'embedded' | 'kafka';
  kafkaBrokers: string[];
  topicPrefix: string;
  logLevel: string;
  configFile: string | null;
}

/** Each option: its flag, its environment variable and its config-file key. */
const OPTIONS = {
  port: { env: 'STRATA_PORT', default: '8080' },
  host: { env: 'STRATA_HOST', default: '127.0.0.1' },
  'data-dir': { env: 'STRATA_DATA_DIR', default: './data' },
  broker: { env: 'STRATA_BROKER', default: 'embedded' },
  'kafka-brokers': { env: 'KAFKA_BROKERS', default: '' },
  'topic-prefix': { env: 'STRATA_TOPIC_PREFIX', default: 'strata' },
  'log-level': { env: 'STRATA_LOG_LEVEL', default: 'info' },
  config: { env: 'STRATA_CONFIG', default: '' },
} as const;

type OptionName = keyof typeof OPTIONS;

export class ConfigError extends Error {}

function fileConfig(path: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`${path}: the config file must hold a JSON object`);
    return parsed as Record<string, unknown>;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
}

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): StrataConfig {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: Object.fromEntries(Object.keys(OPTIONS).map((k) => [k, { type: 'string' as const }])),
  });
  const configPath = (values.config as string | undefined) ?? env.STRATA_CONFIG ?? null;
  const file = configPath ? fileConfig(configPath) : {};
  const pick = (name: OptionName): string => {
    const flag = values[name] as string | undefined;
    const fromFile = file[name];
    return flag ?? env[OPTIONS[name].env] ?? (fromFile === undefined ? undefined : String(fromFile)) ?? OPTIONS[name].default;
  };
  const port = Number(pick('port'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--port must be an integer 0–65535, got ${pick('port')}`);
  const broker = pick('broker');
  if (broker !== 'embedded' && broker !== 'kafka') throw new ConfigError(`--broker must be embedded or kafka, got ${broker}`);
  return {
    command: positionals[0] ?? 'start',
    port,
    host: pick('host'),
    dataDir: pick('data-dir'),
    broker,
    kafkaBrokers: pick('kafka-brokers').split(',').map((s) => s.trim()).filter(Boolean),
    topicPrefix: pick('topic-prefix'),
    logLevel: pick('log-level'),
    configFile: configPath,
  };
}
