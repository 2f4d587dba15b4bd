// Configuration of `strata`: CLI flags > environment > optional JSON config file > defaults (DESIGN §9).

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { KafkaLogOptions } from '../broker-adapters/kafka.js';
import { ROLES, isRole, type Role } from './roles.js';

export interface StrataConfig {
  command: string;
  port: number;
  host: string;
  dataDir: string;
  broker: 'embedded' | 'kafka';
  /** What this process does (src/cli/roles.ts); anything but `all` needs a shared log (Kafka). */
  role: Role;
  kafkaBrokers: string[];
  topicPrefix: string;
  /** Passed through to kafkajs (client id, TLS, SASL); used only with `broker: 'kafka'`. */
  kafka: KafkaClientConfig;
  logLevel: string;
  configFile: string | null;
  /** Hardening (src/cli/hardening.ts reads the files and STRATA_TOKENS / STRATA_LIMIT_* variables). */
  hardening: HardeningConfig;
  /** Backup and restore (src/cli/backup.ts, docs/operations.md). */
  operations: OperationsConfig;
}

export interface OperationsConfig {
  /** `strata start`: root of the online backups made by `POST /v1/graphs/:graph/backup` (null = `<data-dir>/backups`). */
  backupDir: string | null;
  /** `strata backup`: the target directory (absent or empty). */
  backupOut: string | null;
  /** `strata restore`: the backup directory to restore from. */
  restoreFrom: string | null;
}

export interface HardeningConfig {
  tokensFile: string | null;
  /** Allow a non-loopback --host without tokens. */
  insecure: boolean;
  /** Origins allowed by CORS; empty = CORS off. */
  corsOrigins: string[];
  limitsFile: string | null;
  /** `strata rebuild`: only this graph (null = all), and a progress line every this many records. */
  rebuildGraph: string | null;
  progressEvery: number;
}

export interface KafkaClientConfig {
  clientId: string;
  ssl: boolean;
  sasl: { mechanism: SaslMechanism; username: string; password: string } | null;
}

const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** Each option: its flag, its environment variable and its config-file key. */
const OPTIONS = {
  port: { env: 'STRATA_PORT', default: '8080' },
  host: { env: 'STRATA_HOST', default: '127.0.0.1' },
  'data-dir': { env: 'STRATA_DATA_DIR', default: './data' },
  broker: { env: 'STRATA_BROKER', default: 'embedded' },
  role: { env: 'STRATA_ROLE', default: 'all' },
  'kafka-brokers': { env: 'KAFKA_BROKERS', default: '' },
  'topic-prefix': { env: 'STRATA_TOPIC_PREFIX', default: 'strata' },
  'kafka-client-id': { env: 'KAFKA_CLIENT_ID', default: 'strata' },
  'kafka-ssl': { env: 'KAFKA_SSL', default: 'false' },
  'kafka-sasl-mechanism': { env: 'KAFKA_SASL_MECHANISM', default: '' },
  'kafka-sasl-username': { env: 'KAFKA_SASL_USERNAME', default: '' },
  // Prefer the environment variable: a flag's value is visible to every user of the machine (ps).
  'kafka-sasl-password': { env: 'KAFKA_SASL_PASSWORD', default: '' },
  'log-level': { env: 'STRATA_LOG_LEVEL', default: 'info' },
  config: { env: 'STRATA_CONFIG', default: '' },
  'tokens-file': { env: 'STRATA_TOKENS_FILE', default: '' },
  'cors-origin': { env: 'STRATA_CORS_ORIGIN', default: '' },
  'limits-file': { env: 'STRATA_LIMITS_FILE', default: '' },
  graph: { env: 'STRATA_REBUILD_GRAPH', default: '' },
  'progress-every': { env: 'STRATA_PROGRESS_EVERY', default: '10000' },
  'backup-dir': { env: 'STRATA_BACKUP_DIR', default: '' },
  out: { env: 'STRATA_BACKUP_OUT', default: '' },
  from: { env: 'STRATA_RESTORE_FROM', default: '' },
} as const;

type OptionName = keyof typeof OPTIONS;

/**
 * Every environment variable the configuration reads (deploy files are checked against it): the options'
 * own, plus STRATA_INSECURE (a flag, read in loadConfig) and STRATA_TOKENS (read in hardening.ts).
 * STRATA_LIMIT_<NAME> variables are a family of their own (hardening.ts: limitEnvName).
 */
export const CONFIG_ENV_NAMES: readonly string[] = [...new Set([...Object.values(OPTIONS).map((o) => o.env), 'STRATA_INSECURE', 'STRATA_TOKENS'])];

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
    options: { ...Object.fromEntries(Object.keys(OPTIONS).map((k) => [k, { type: 'string' }])), insecure: { type: 'boolean' } } as Record<string, { type: 'string' | 'boolean' }>,
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
  const kafkaBrokers = pick('kafka-brokers').split(',').map((s) => s.trim()).filter(Boolean);
  if (broker === 'kafka' && kafkaBrokers.length === 0) throw new ConfigError('--broker kafka needs --kafka-brokers (or KAFKA_BROKERS): a comma-separated host:port list');
  const role = pick('role');
  if (!isRole(role)) throw new ConfigError(`--role must be one of ${ROLES.join(', ')}, got ${role}`);
  // The embedded log belongs to one process, so there is nobody to split the work with.
  if (role !== 'all' && broker !== 'kafka') throw new ConfigError(`--role ${role} needs --broker kafka: with the embedded log one process does everything (--role all)`);
  return {
    command: positionals[0] ?? 'start',
    port,
    host: pick('host'),
    dataDir: pick('data-dir'),
    broker,
    role,
    kafkaBrokers,
    topicPrefix: pick('topic-prefix'),
    kafka: kafkaClientConfig(pick),
    logLevel: pick('log-level'),
    configFile: configPath,
    hardening: hardeningConfig(pick, values.insecure === true || ['true', '1'].includes(env.STRATA_INSECURE ?? '')),
    operations: { backupDir: orNull(pick('backup-dir')), backupOut: orNull(pick('out')), restoreFrom: orNull(pick('from')) },
  };
}

const orNull = (v: string): string | null => (v === '' ? null : v);

function hardeningConfig(pick: (name: OptionName) => string, insecure: boolean): HardeningConfig {
  const progressEvery = Number(pick('progress-every'));
  if (!Number.isSafeInteger(progressEvery) || progressEvery < 1) throw new ConfigError(`--progress-every must be a positive integer, got ${pick('progress-every')}`);
  return {
    tokensFile: orNull(pick('tokens-file')),
    insecure,
    corsOrigins: pick('cors-origin').split(',').map((s) => s.trim()).filter(Boolean),
    limitsFile: orNull(pick('limits-file')),
    rebuildGraph: orNull(pick('graph')),
    progressEvery,
  };
}

function kafkaClientConfig(pick: (name: OptionName) => string): KafkaClientConfig {
  const ssl = pick('kafka-ssl').toLowerCase();
  if (!['true', 'false', '1', '0'].includes(ssl)) throw new ConfigError(`--kafka-ssl must be true or false, got ${pick('kafka-ssl')}`);
  const mechanism = pick('kafka-sasl-mechanism').toLowerCase();
  let sasl: KafkaClientConfig['sasl'] = null;
  if (mechanism !== '') {
    if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism)) throw new ConfigError(`--kafka-sasl-mechanism must be one of ${SASL_MECHANISMS.join(', ')}, got ${mechanism}`);
    const username = pick('kafka-sasl-username');
    const password = pick('kafka-sasl-password');
    if (username === '' || password === '') throw new ConfigError('SASL needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD');
    sasl = { mechanism: mechanism as SaslMechanism, username, password };
  }
  return { clientId: pick('kafka-client-id'), ssl: ssl === 'true' || ssl === '1', sasl };
}

/** The Kafka adapter's options from the configuration (the logger is the caller's). */
export function kafkaAdapterOptions(config: StrataConfig): KafkaLogOptions {
  return {
    brokers: config.kafkaBrokers,
    topicPrefix: config.topicPrefix,
    clientId: config.kafka.clientId,
    ssl: config.kafka.ssl,
    ...(config.kafka.sasl ? { sasl: config.kafka.sasl } : {}),
  };
}
