// Shared pieces of the Kafka tests: the wire schemas loaded straight from schemas/ with avsc (as any
// foreign client would, never through src/codec), Strata replicas on the mock cluster, temp dirs.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { KafkaLogAdapter, type KafkaLogOptions } from '../../src/broker-adapters/kafka.js';
import type { StrataDb } from '../../src/core/strata-api.js';
import { openStrata } from '../../src/strata.js';

const SCHEMA_DIR = fileURLToPath(new URL('../../../schemas/', import.meta.url));

export interface WireSchemas {
  tx: avro.Type;
  report: avro.Type;
  txFingerprint: string;
  reportFingerprint: string;
}

/** Both .avsc files in one registry (tx-report.avsc names types of transaction.avsc); unions wrapped. */
export async function loadWireSchemas(): Promise<WireSchemas> {
  const registry: { [name: string]: avro.Type } = {};
  const parse = async (file: string): Promise<avro.Type> =>
    avro.Type.forSchema(JSON.parse(await readFile(join(SCHEMA_DIR, file), 'utf8')) as avro.Schema, { registry, wrapUnions: true });
  const tx = await parse('transaction.avsc');
  const report = await parse('tx-report.avsc');
  return { tx, report, txFingerprint: tx.fingerprint('sha256').toString('hex'), reportFingerprint: report.fingerprint('sha256').toString('hex') };
}

/** A Transaction in avsc's wrapped-union form: create a node and set attributes (strings and longs). */
export function foreignCreateTx(txId: string | null, entity: string, type: string, attrs: Record<string, string | number>): object {
  const ns = 'strata.v1.';
  const sets = Object.entries(attrs).map(([attr, v]) => ({
    op: { [`${ns}Set`]: { id: entity, attr, value: { v: typeof v === 'number' ? { long: v } : { string: v } } } },
  }));
  return {
    id: txId === null ? null : { string: txId },
    meta: { author: 'foreign-producer' },
    ops: [{ op: { [`${ns}Create`]: { id: entity, type } } }, ...sets],
  };
}

export class TempDirs {
  private readonly dirs: string[] = [];

  async make(tag: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), `strata-kafka-${tag}-`));
    this.dirs.push(dir);
    return dir;
  }

  async removeAll(): Promise<void> {
    await Promise.all(this.dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  }
}

/** Short long polls: the mock holds every fetch for its full wait, so this bounds delivery latency. */
export const TEST_TAIL_WAIT_MS = 50;

export function kafkaAdapter(brokers: string[], topicPrefix: string, options: Partial<KafkaLogOptions> = {}): KafkaLogAdapter {
  return new KafkaLogAdapter({ brokers, topicPrefix, tailWaitMs: TEST_TAIL_WAIT_MS, ...options });
}

/** One Strata replica: its own dataDir (RocksDB), the shared Kafka topics. */
export function openReplica(dataDir: string, brokers: string[], topicPrefix: string, options: { changes?: boolean; adapter?: Partial<KafkaLogOptions> } = {}): Promise<StrataDb> {
  return openStrata({ dataDir, broker: kafkaAdapter(brokers, topicPrefix, options.adapter), changes: options.changes });
}

/** Polls `condition` every 20 ms until it holds; fails after `timeoutMs`. */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
