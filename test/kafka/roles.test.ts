// Process roles (`--role all|api|materializer`): how they are configured, that a split needs Kafka, and
// what each one serves over HTTP. Needs no broker: the HTTP surface is built on the in-memory log.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildApp } from '../../src/api/app.js';
import { MemoryLogAdapter } from '../../src/broker-adapters/memory.js';
import { CONFIG_ENV_NAMES, ConfigError, loadConfig } from '../../src/cli/config.js';
import { ROLES, roleDuties } from '../../src/cli/roles.js';
import { openStrata } from '../../src/strata.js';

const KAFKA = ['--broker', 'kafka', '--kafka-brokers', 'k:9092'];

describe('process roles', () => {
  it('default to all; --role and STRATA_ROLE choose api or materializer on Kafka, flags first', () => {
    assert.equal(loadConfig([], {}).role, 'all');
    assert.equal(loadConfig(KAFKA, { STRATA_ROLE: 'api' }).role, 'api');
    assert.equal(loadConfig([...KAFKA, '--role', 'materializer'], { STRATA_ROLE: 'api' }).role, 'materializer');
    assert.ok(CONFIG_ENV_NAMES.includes('STRATA_ROLE'));
  });

  it('are a configuration error when unknown, or split over the embedded log', () => {
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [[...KAFKA, '--role', 'reader'], {}, /--role must be one of all, api, materializer/],
      [['--role', 'api'], {}, /--role api needs --broker kafka/],
      [[], { STRATA_ROLE: 'materializer' }, /--role materializer needs --broker kafka/],
    ];
    for (const [argv, env, message] of cases) assert.throws(() => loadConfig(argv, env), (err: unknown) => err instanceof ConfigError && message.test(err.message));
    assert.equal(loadConfig(['--role', 'all'], {}).role, 'all', 'all is the embedded default, so it is always allowed');
  });

  it('give derived topics to exactly the roles that are not api, and the public API to all but materializer', () => {
    assert.deepEqual(ROLES.map((r) => [r, roleDuties(r)]), [
      ['all', { publicApi: true, derivedTopics: true }],
      ['api', { publicApi: true, derivedTopics: false }],
      ['materializer', { publicApi: false, derivedTopics: true }],
    ]);
  });

  it('a materializer serves operations only; the public API is not there at all', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'strata-roles-'));
    const db = await openStrata({ dataDir, broker: new MemoryLogAdapter() });
    const full = await buildApp({ db });
    const ops = await buildApp({ db, routes: 'operations' });
    try {
      for (const path of ['/healthz', '/readyz', '/metrics']) {
        assert.equal((await ops.inject({ method: 'GET', url: path })).statusCode, 200, path);
      }
      const publish = { method: 'POST' as const, url: '/v1/graphs/g/transactions', payload: { ops: [{ op: 'create', id: 'a', type: 'T' }] } };
      assert.equal((await full.inject(publish)).statusCode, 200);
      assert.equal((await ops.inject(publish)).statusCode, 404);
      assert.equal((await ops.inject({ method: 'GET', url: '/v1/graphs/g/entities/a' })).statusCode, 404);
      assert.equal((await full.inject({ method: 'GET', url: '/v1/graphs/g/entities/a' })).statusCode, 200);
    } finally {
      await full.close();
      await ops.close();
      await db.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
