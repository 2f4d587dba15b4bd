#!/usr/bin/env node
// The `strata` command: `strata start` runs the platform (embedded log + RocksDB + HTTP API).

import pino, { type Logger } from 'pino';
import { buildApp } from '../api/app.js';
import { createMetrics, materializerHooks } from '../api/metrics.js';
import { KafkaLogAdapter } from '../broker-adapters/kafka.js';
import { openStrata } from '../strata.js';
import { ConfigError, kafkaAdapterOptions, loadConfig, type StrataConfig } from './config.js';
import { exposureMessage, prepareHardening } from './hardening.js';
import { backupCommand, restoreCommand } from './backup.js';
import { rebuildCommand } from './rebuild.js';
import { roleDuties } from './roles.js';

const USAGE = `usage: strata <command> [options]

commands:
  start      run the platform (default)
  rebuild    recompute RocksDB state from the log (server stopped; --graph G for one graph)
  backup     copy a stopped data dir's state, with its offsets, to --out DIR (running server: POST /v1/graphs/G/backup)
  restore    put a backup's state (--from DIR) in place, after checking the log reaches its offsets (server stopped)

options (flag / environment):
  --port N             STRATA_PORT           HTTP port (default 8080)
  --host H             STRATA_HOST           bind address (default 127.0.0.1)
  --data-dir D         STRATA_DATA_DIR       log and state directory (default ./data)
  --broker B           STRATA_BROKER         embedded | kafka (default embedded)
  --role R             STRATA_ROLE           all | api | materializer (default all; others need kafka)
  --kafka-brokers L    KAFKA_BROKERS         comma-separated host:port list
  --topic-prefix P     STRATA_TOPIC_PREFIX   Kafka topic prefix (default strata)
  --kafka-client-id C  KAFKA_CLIENT_ID       Kafka client id (default strata)
  --kafka-ssl B        KAFKA_SSL             true: connect to Kafka over TLS (default false)
  --kafka-sasl-mechanism M  KAFKA_SASL_MECHANISM  plain | scram-sha-256 | scram-sha-512
  --kafka-sasl-username U   KAFKA_SASL_USERNAME   SASL user name
                            KAFKA_SASL_PASSWORD   SASL password (use the variable, not the flag)
  --log-level L        STRATA_LOG_LEVEL      pino level (default info; debug adds a line per request)
  --config F           STRATA_CONFIG         JSON config file (flags > env > file)
  --tokens-file F      STRATA_TOKENS_FILE    bearer tokens (JSON; docs/security.md); or the JSON itself in STRATA_TOKENS
  --insecure           STRATA_INSECURE       allow a non-loopback --host without tokens
  --cors-origin L      STRATA_CORS_ORIGIN    comma-separated origins allowed by CORS (default: CORS off)
  --limits-file F      STRATA_LIMITS_FILE    JSON object of limits; each also STRATA_LIMIT_<NAME> (docs/limits.md)
  --graph G            STRATA_REBUILD_GRAPH  rebuild, backup, restore: only this graph
  --backup-dir D       STRATA_BACKUP_DIR     start: where POST /v1/graphs/G/backup writes (default <data-dir>/backups)
  --out D              STRATA_BACKUP_OUT     backup: the target directory (absent or empty)
  --from D             STRATA_RESTORE_FROM   restore: the backup directory (with backup.json)
  --progress-every N   STRATA_PROGRESS_EVERY rebuild: a progress line every N records (default 10000)
`;

function makeLogger(level: string): Logger {
  if (process.stdout.isTTY) return pino({ level, transport: { target: 'pino-pretty', options: { colorize: true } } });
  return pino({ level });
}

async function start(config: StrataConfig): Promise<void> {
  const logger = makeLogger(config.logLevel);
  const metrics = createMetrics();
  const started = Date.now();
  const duties = roleDuties(config.role);
  const hardening = prepareHardening(config, process.env);
  const db = await openStrata({
    dataDir: config.dataDir,
    limits: hardening.limits,
    // Only roles that own derived topics produce them: with two producers every change would go out twice.
    ...(duties.derivedTopics ? {} : { changes: false }),
    broker: config.broker === 'kafka' ? new KafkaLogAdapter({ ...kafkaAdapterOptions(config), logger }) : undefined,
    ...(config.operations.backupDir === null ? {} : { backupDir: config.operations.backupDir }),
    logger,
    hooks: {
      ...materializerHooks(metrics),
      // Crash-only: a stopped materializer is a bug or a broken disk; a supervisor restarts us and the
      // fold resumes from the stored offset.
      onError: () => {
        logger.fatal('materializer failed; exiting');
        process.exit(1);
      },
    },
  });
  const app = await buildApp({ db, logger, metrics, limits: hardening.limits, security: hardening.security, routes: duties.publicApi ? 'all' : 'operations' });
  await app.listen({ port: config.port, host: config.host });
  logger.info({ dataDir: config.dataDir, broker: config.broker, role: config.role, startupMs: Date.now() - started }, `strata listening on http://${config.host}:${config.port}`);
  const exposed = exposureMessage(hardening, config.host);
  logger[exposed.level]({ exposure: hardening.exposure }, exposed.message);
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await app.close();
    await db.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

async function main(): Promise<void> {
  let config: StrataConfig;
  try {
    config = loadConfig(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  switch (config.command) {
    case 'start':
      return start(config);
    case 'rebuild':
      return rebuildCommand(config, makeLogger(config.logLevel));
    case 'backup':
      return backupCommand(config, makeLogger(config.logLevel));
    case 'restore':
      return restoreCommand(config, makeLogger(config.logLevel));
    case 'help':
      process.stdout.write(USAGE);
      return;
    default:
      process.stderr.write(`unknown command ${JSON.stringify(config.command)}\n\n${USAGE}`);
      process.exit(2);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`strata: ${err instanceof ConfigError ? err.message : (err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
