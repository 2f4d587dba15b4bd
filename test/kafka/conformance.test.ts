// The broker-adapter conformance suite against the Kafka adapter on librdkafka's mock cluster, plus what
// only Kafka has: the mock's quirks (createTopics and InitProducerId refused, auto-created topics with
// 4 partitions) and pre-created topics.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AdapterLogger } from '../../src/broker-adapters/embedded.js';
import { KafkaLogAdapter, type KafkaLogOptions } from '../../src/broker-adapters/kafka.js';
import { LogUnavailableError } from '../../src/broker-adapters/types.js';
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
