// Tests of the in-memory log: the shared conformance suite plus its own clock and limit behaviour.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StrataError } from '../../src/core/errors.js';
import { RECORD_BYTES_MAX } from '../../src/broker-adapters/embedded.js';
import { MemoryLogAdapter } from '../../src/broker-adapters/memory.js';
import { runBrokerConformance } from './conformance.js';

runBrokerConformance('memory', async () => ({ adapter: new MemoryLogAdapter(), cleanup: async () => undefined }));

describe('memory log', () => {
  it('declares itself not durable', () => {
    assert.equal(new MemoryLogAdapter().supports.durable, false);
  });

  it('keeps timestamps non-decreasing when the injected clock steps back', async () => {
    const ticks = [100, 200, 150, 50, 300];
    const adapter = new MemoryLogAdapter({ clock: () => ticks.shift() ?? 0 });
    await adapter.open();
    const results = await adapter.append('g', Array.from({ length: 5 }, (_, i) => ({ key: null, value: Buffer.from([i]) })));
    assert.deepEqual(results.map((r) => r.timestampMs), [100, 200, 200, 200, 300]);
    await adapter.close();
  });

  it('enforces the same record size limit as the embedded log', async () => {
    const adapter = new MemoryLogAdapter();
    await adapter.open();
    await assert.rejects(adapter.append('g', [{ key: 'big', value: Buffer.alloc(RECORD_BYTES_MAX) }]), (err: unknown) => {
      assert.ok(err instanceof StrataError);
      assert.equal(err.code, 'payload_too_large');
      return true;
    });
    assert.equal(await adapter.endOffset('g'), 0);
    await adapter.close();
  });

  it('a failing clock leaves the log unchanged', async () => {
    let calls = 0;
    const adapter = new MemoryLogAdapter({ clock: () => (++calls === 2 ? Number.NaN : 1) });
    await adapter.open();
    await assert.rejects(adapter.append('g', [{ key: null, value: Buffer.from('a') }, { key: null, value: Buffer.from('b') }]), /clock/);
    assert.equal(await adapter.endOffset('g'), 0);
    await adapter.close();
  });
});
