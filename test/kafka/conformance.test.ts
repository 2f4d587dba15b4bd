// The broker-adapter conformance suite against the Kafka adapter on librdkafka's mock cluster, plus what
// only Kafka has: the mock's quirks (createTopics and InitProducerId refused, auto-created topics with
// 4 partitions) and pre-created topics.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AdapterLogger } from '../../src/broker-adapters/embedded.js';
import { KafkaLogAdapter, type KafkaLogOptions } from '../../src/broker-adapters/kafka.js';
import { ProduceQueue } from '../../src/broker-adapters/kafka-produce.js';
import { LogUnavailableError } from '../../src/broker-adapters/types.js';
import { Kafka, logLevel, type ProducerConfig } from 'kafkajs';
import { runBrokerConformance } from '../broker-adapters/conformance.js';
import { MockCluster, kafkaSuite, prepareLauncher } from './mock-cluster.js';

let prefixes = 0;
/** Each adapter gets its own topic prefix, so every test sees fresh, empty storage on a shared cluster. */
function uniquePrefix(tag: string): string {
  return `${tag}${process.pid}-${prefixes++}`;
}

function captureLogger(): AdapterLogger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info: () => undefined, warn: (_obj, msg) => warnings.push(msg ?? '') };
}

function registerConformance(name: string, launcherPath: string, brokerCount: number): void {
  describe(name, () => {
    let cluster: MockCluster;
    before(async () => {
      cluster = await MockCluster.start(launcherPath, brokerCount);
    });
    after(() => cluster.stop());
    const adapterFor = (prefix: string): KafkaLogAdapter => new KafkaLogAdapter({ brokers: cluster.bootstrap, topicPrefix: prefix, appendTimeoutMs: 5_000 });
    runBrokerConformance(name, async () => {
      const prefix = uniquePrefix('c');
      return { adapter: adapterFor(prefix), reopen: async () => adapterFor(prefix), cleanup: async () => undefined };
    });
  });
}

function registerQuirkTests(launcherPath: string): void {
  describe('kafka adapter on the mock cluster', () => {
    let cluster: MockCluster;
    const open: KafkaLogAdapter[] = [];
    before(async () => {
      cluster = await MockCluster.start(launcherPath, 1);
    });
    after(async () => {
      for (const adapter of open) await adapter.close();
      await cluster.stop();
    });
    const openAdapter = async (options: Partial<KafkaLogOptions> = {}): Promise<KafkaLogAdapter> => {
      const adapter = new KafkaLogAdapter({ brokers: cluster.bootstrap, topicPrefix: uniquePrefix('q'), ...options });
      await adapter.open();
      open.push(adapter);
      return adapter;
    };

    it("'auto' idempotence falls back with a warning when the broker refuses InitProducerId", async () => {
      const logger = captureLogger();
      const adapter = await openAdapter({ logger });
      const [result] = await adapter.append('g', [{ key: 'k', value: Buffer.from('v') }]);
      assert.equal(result!.offset, 0);
      assert.equal(adapter.idempotent, false);
      assert.ok(logger.warnings.some((w) => w.includes('refused an idempotent producer')), 'the fallback is logged');
    });

    // The mock always refuses InitProducerId (its controller id names no broker), the way a real cluster
    // can refuse one transiently (a controller election, stale metadata). Whether a later attempt succeeds
    // is decided by the wrapper below: it hands out a plain producer for the "idempotent" one once `grant`
    // is set, standing in for a cluster that now grants producer ids. The queue, the swap and the sends
    // under test are the real ones, against the mock broker.
    const queueOn = (grantAfter: number, refusal?: Error) => {
      const logger = { ...captureLogger(), infos: [] as string[] };
      logger.info = (_obj, msg) => logger.infos.push(msg ?? '');
      const kafka = new Kafka({ brokers: cluster.bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50 } });
      let idempotentAsks = 0;
      const wrapped = {
        producer: (config: ProducerConfig) => {
          if (!config.idempotent) return kafka.producer(config);
          idempotentAsks++;
          if (refusal) {
            const producer = kafka.producer({ ...config, idempotent: false });
            return { ...producer, connect: () => Promise.reject(refusal), disconnect: () => Promise.resolve() };
          }
          return idempotentAsks > grantAfter ? kafka.producer({ ...config, idempotent: false }) : kafka.producer(config);
        },
      } as unknown as Kafka;
      const queue = new ProduceQueue({ kafka: wrapped, idempotent: 'auto', idempotenceReprobeMs: 100, requestTimeoutMs: 5_000, retryAfterSeconds: 1, logger });
      return { queue, logger, asks: () => idempotentAsks };
    };
    const appendOne = async (queue: ProduceQueue, topic: string, i: number): Promise<number> => {
      const [result] = await queue.enqueue(topic, [{ key: null, value: Buffer.from(`m${i}`), headers: {} }], 3, Date.now() + 5_000);
      return result!.offset;
    };

    it("'auto' keeps trying idempotence after a refusal that may pass, and swaps it in between sends with offsets in order", async () => {
      const topic = `${uniquePrefix('idem')}.t`;
      await cluster.createTopic(topic, 1);
      const { queue, logger, asks } = queueOn(3);
      try {
        const offsets: number[] = [];
        for (let i = 0; queue.idempotent !== true && i < 400; i++) {
          offsets.push(await appendOne(queue, topic, i));
          await new Promise((r) => setTimeout(r, 10));
        }
        assert.equal(queue.idempotent, true, 'an idempotent producer took over once one could connect');
        for (let i = 0; i < 20; i++) offsets.push(await appendOne(queue, topic, offsets.length));
        assert.deepEqual(offsets, offsets.map((_, i) => i), 'every append acknowledged once, in order, across the swap');
        assert.ok(asks() >= 4, `the first attempt and the background ones (${asks()})`);
        assert.equal(logger.warnings.filter((w) => w.includes('refused an idempotent producer')).length, 1, 'one warning, not one per attempt');
        assert.ok(logger.warnings[0]!.includes('trying again in the background'));
        assert.ok(logger.infos.some((m) => m.includes('appends are idempotent again')));
      } finally {
        await queue.close(2_000);
      }
    });

    it("'auto' stops asking once the cluster refuses idempotence for good (authorization), and keeps producing", async () => {
      const topic = `${uniquePrefix('idem')}.t`;
      await cluster.createTopic(topic, 1);
      const refusal = Object.assign(new Error('Cluster authorization failed'), { type: 'CLUSTER_AUTHORIZATION_FAILED' });
      const { queue, logger, asks } = queueOn(0, refusal);
      try {
        assert.equal(await appendOne(queue, topic, 0), 0);
        await new Promise((r) => setTimeout(r, 500)); // five reprobe intervals
        assert.equal(await appendOne(queue, topic, 1), 1);
        assert.equal(asks(), 1, 'no background attempts after a final refusal');
        assert.equal(queue.idempotent, false);
        assert.ok(!logger.warnings[0]!.includes('trying again'));
      } finally {
        await queue.close(2_000);
      }
    });

    it('idempotent: true refuses to write without idempotence, promptly, as LogUnavailableError', async () => {
      const adapter = await openAdapter({ idempotent: true, appendTimeoutMs: 3_000 });
      const started = Date.now();
      await assert.rejects(adapter.append('g', [{ key: 'k', value: Buffer.from('v') }]), LogUnavailableError);
      assert.ok(Date.now() - started < 4_000, 'bounded by the append timeout');
      assert.equal(await adapter.endOffset('g'), 0, 'nothing was written');
    });

    it('uses a pre-created single-partition topic as is, and warns about a multi-partition one', async () => {
      const logger = captureLogger();
      const adapter = await openAdapter({ logger });
      await cluster.createTopic(adapter.topicOf('pre'), 1);
      await cluster.createTopic(adapter.topicOf('wide'), 3);
      assert.deepEqual(await adapter.listGraphs(), ['pre', 'wide']);
      await adapter.ensureGraph('pre');
      assert.ok(!logger.warnings.some((w) => w.includes('more than one partition')));
      await adapter.ensureGraph('wide');
      assert.ok(logger.warnings.some((w) => w.includes('more than one partition')));
      const results = await adapter.append('wide', [{ key: null, value: Buffer.from('x') }]);
      assert.deepEqual((await adapter.read('wide', 0, 10)).map((r) => r.offset), results.map((r) => r.offset));
    });
  });
}

const launcher = await prepareLauncher();
kafkaSuite('kafka broker adapter', launcher, (launcherPath) => {
  registerConformance('kafka (mock cluster, 1 broker)', launcherPath, 1);
  registerConformance('kafka (mock cluster, 3 brokers)', launcherPath, 3);
  registerQuirkTests(launcherPath);
});
