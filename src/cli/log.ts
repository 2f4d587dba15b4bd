// The log a one-shot command works on (rebuild, restore): the embedded log under the data directory or
// the Kafka topics the config names, opened for the command and closed after it.

import { join } from 'node:path';
import type { Logger } from 'pino';
import { EmbeddedLogAdapter } from '../broker-adapters/embedded.js';
import { KafkaLogAdapter } from '../broker-adapters/kafka.js';
import type { BrokerAdapter } from '../broker-adapters/types.js';
import { ConfigError, kafkaAdapterOptions, type StrataConfig } from './config.js';

/**
 * Runs `fn` with the config's log open. A log that cannot be opened (typically the lock of a running
 * server) is an operating error, reported as "cannot <what>: …" without a stack.
 */
export async function withCommandLog<T>(config: StrataConfig, logger: Logger, what: string, fn: (log: BrokerAdapter) => Promise<T>): Promise<T> {
  const log: BrokerAdapter =
    config.broker === 'kafka' ? new KafkaLogAdapter({ ...kafkaAdapterOptions(config), logger }) : new EmbeddedLogAdapter({ dir: join(config.dataDir, 'log'), logger });
  try {
    await log.open();
  } catch (err) {
    throw new ConfigError(`cannot ${what}: ${(err as Error).message}`);
  }
  try {
    return await fn(log);
  } finally {
    await log.close();
  }
}
