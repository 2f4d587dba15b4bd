// Static checks of deploy/ (no Docker engine or cluster here): the Dockerfile, docker-compose.yml and the
// Kubernetes manifests agree with the code — env names and values the config accepts, the default port,
// probe routes the app really serves, a non-root user, a volume per replica, one derived-topics producer.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { buildApp } from '../../src/api/app.js';
import type { SecurityOptions } from '../../src/api/auth.js';
import { parseTokenConfig } from '../../src/api/tokens.js';
import { MemoryLogAdapter } from '../../src/broker-adapters/memory.js';
import { CONFIG_ENV_NAMES, loadConfig, type StrataConfig } from '../../src/cli/config.js';
import { prepareHardening } from '../../src/cli/hardening.js';
import { roleDuties, type Role } from '../../src/cli/roles.js';
import { openStrata } from '../../src/strata.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const DEPLOY = join(REPO, 'deploy');
const DEFAULTS = loadConfig([], {});

type Obj = Record<string, unknown>;
const obj = (v: unknown, what: string): Obj => {
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `${what} is a mapping`);
  return v as Obj;
};
const list = (v: unknown, what: string): unknown[] => {
  assert.ok(Array.isArray(v), `${what} is a list`);
  return v;
};

/** An environment as deployed must be one the CLI accepts, with only the variables it reads. */
/** Variables for the runtime rather than the CLI: glibc's malloc. */
const RUNTIME_ENV_NAMES = ['MALLOC_ARENA_MAX'];

function checkEnv(env: Record<string, string>, what: string): StrataConfig {
  for (const name of Object.keys(env)) {
    assert.ok(CONFIG_ENV_NAMES.includes(name) || RUNTIME_ENV_NAMES.includes(name), `${what}: ${name} is not read by src/cli/config.ts`);
  }
  return loadConfig(['start'], env);
}

/** A token configuration, so that probes are also tried the way a secured deployment serves them. */
const PROBE_TEST_SECURITY: SecurityOptions = {
  tokens: parseTokenConfig([{ principal: 'deploy-test', token: 'a-token-nobody-sends-with-a-probe', scopes: { '*': ['read'] } }], 'deploy test'),
  rateLimit: { max: 1_000, windowMs: 60_000 },
  corsOrigins: [],
};

/**
 * GET on each path of an app built for `role` answers 200 without credentials: probes (kubelet, Docker)
 * hit routes that exist for that role and carry no token, also when `secured` deployments require one.
 */
async function checkServed(role: Role, paths: string[], secured: boolean): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'strata-deploy-'));
  const db = await openStrata({ dataDir, broker: new MemoryLogAdapter() });
  const routes = roleDuties(role).publicApi ? 'all' : 'operations';
  const app = await buildApp({ db, routes, ...(secured ? { security: PROBE_TEST_SECURITY } : {}) });
  try {
    for (const url of paths) assert.equal((await app.inject({ method: 'GET', url })).statusCode, 200, `${role}: GET ${url}`);
    // The secured app does refuse a request without a token, so the 200s above are not vacuous.
    if (secured) assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401, `${role}: /metrics needs a token`);
  } finally {
    await app.close();
    await db.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The image docker-compose builds for its Strata replicas. */
function composeImage(): string {
  const compose = obj(parse(readFileSync(join(DEPLOY, 'docker-compose.yml'), 'utf8'), { merge: true }), 'compose');
  return String(obj(obj(compose.services, 'services')['strata-1'], 'strata-1').image);
}

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions grouped by stage (continuation lines joined, comments dropped). */
function dockerStages(text: string): Instruction[][] {
  const joined = text.split('\n').filter((l) => !l.trimStart().startsWith('#')).join('\n').replace(/\\\n/g, ' ');
  const stages: Instruction[][] = [];
  for (const line of joined.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const [keyword, ...rest] = line.split(/\s+/);
    const instruction = { keyword: keyword!.toUpperCase(), args: rest.join(' ') };
    if (instruction.keyword === 'FROM') stages.push([]);
    assert.ok(stages.length > 0, 'the Dockerfile starts with FROM');
    stages[stages.length - 1]!.push(instruction);
  }
  return stages;
}

describe('deploy/Dockerfile', () => {
  const stages = dockerStages(readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8'));
  const runtime = stages[stages.length - 1]!;
  const all = (stage: Instruction[], keyword: string): string[] => stage.filter((i) => i.keyword === keyword).map((i) => i.args);

  it('builds in one stage (npm ci + tsc) and runs node:20-slim with production dependencies only', () => {
    assert.ok(stages.length >= 2, 'multi-stage');
    assert.match(stages[0]![0]!.args, /^node:20\S* AS build$/i);
    const build = all(stages[0]!, 'RUN').join('\n');
    assert.match(build, /npm ci/);
    assert.match(build, /tsc -p \./);
    assert.match(build, /npm prune --omit=dev/);
    assert.equal(runtime[0]!.args, 'node:20-slim');
    assert.ok(all(runtime, 'COPY').every((args) => args.startsWith('--from=build')), 'the runtime takes only build outputs');
    for (const source of ['package.json', 'package-lock.json', 'tsconfig.json', 'schemas', 'src']) assert.ok(existsSync(join(REPO, source)), source);
    const ignored = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n');
    for (const heavy of ['node_modules', 'dist', '.git']) assert.ok(ignored.includes(heavy), `.dockerignore leaves out ${heavy}`);
  });

  it('runs as a non-root user, exposes the default port, keeps state in a volume, and starts the CLI', () => {
    const users = all(runtime, 'USER');
    assert.equal(users.length, 1);
    assert.ok(!['root', '0'].includes(users[0]!.split(':')[0]!), 'non-root');
    const env = Object.fromEntries(all(runtime, 'ENV').flatMap((args) => args.split(/\s+/)).map((pair) => pair.split('=') as [string, string]));
    const config = checkEnv(env, 'Dockerfile ENV');
    assert.deepEqual(all(runtime, 'EXPOSE'), [String(DEFAULTS.port)]);
    assert.equal(config.port, DEFAULTS.port);
    assert.equal(config.host, '0.0.0.0', 'reachable from outside the container');
    assert.ok(all(runtime, 'VOLUME').some((v) => v.includes(`"${config.dataDir}"`)), `VOLUME ${config.dataDir}`);
    assert.match(all(runtime, 'ENTRYPOINT')[0]!, /"dist\/src\/cli\/main\.js"/);
    assert.ok(existsSync(join(REPO, 'dist/src/cli/main.js')), 'tsc puts the CLI where ENTRYPOINT looks');
  });

  it('HEALTHCHECK probes /healthz, which the app serves in every role', async () => {
    const check = all(runtime, 'HEALTHCHECK')[0] ?? '';
    assert.match(check, /CMD/);
    const path = /\/healthz/.exec(check)?.[0];
    assert.equal(path, '/healthz');
    for (const role of ['all', 'api', 'materializer'] as const) for (const secured of [false, true]) await checkServed(role, [path!], secured);
  });
});

describe('deploy/docker-compose.yml', () => {
  const compose = obj(parse(readFileSync(join(DEPLOY, 'docker-compose.yml'), 'utf8'), { merge: true }), 'compose');
  const services = obj(compose.services, 'services');
  const strata = Object.entries(services).filter(([name]) => name.startsWith('strata')).map(([name, s]) => [name, obj(s, name)] as const);
  const envOf = (s: Obj): Record<string, string> => Object.fromEntries(Object.entries(obj(s.environment, 'environment')).map(([k, v]) => [k, String(v)]));

  it('runs Kafka in KRaft mode, healthchecked, and two Strata replicas that wait for it', () => {
    const kafka = obj(services.kafka, 'kafka');
    const kafkaEnv = envOf(kafka);
    assert.match(kafkaEnv.KAFKA_PROCESS_ROLES ?? '', /controller/);
    assert.match(kafkaEnv.KAFKA_PROCESS_ROLES ?? '', /broker/);
    assert.ok(kafkaEnv.KAFKA_CONTROLLER_QUORUM_VOTERS && kafkaEnv.CLUSTER_ID, 'KRaft quorum and cluster id');
    assert.ok(!Object.keys(kafkaEnv).some((k) => k.includes('ZOOKEEPER')), 'no ZooKeeper');
    assert.ok(obj(kafka.healthcheck, 'kafka healthcheck').test, 'kafka has a healthcheck');
    assert.equal(strata.length, 2);
    for (const [name, s] of strata) assert.equal(obj(obj(s.depends_on, `${name} depends_on`).kafka, 'kafka').condition, 'service_healthy', name);
  });

  it('builds the image from deploy/Dockerfile at the repository root', () => {
    for (const [name, s] of strata) {
      const build = obj(s.build, `${name} build`);
      const context = resolve(DEPLOY, String(build.context));
      assert.equal(context, REPO, `${name}: the build context is the repository root`);
      assert.ok(existsSync(join(context, String(build.dockerfile))), `${name}: ${String(build.dockerfile)} exists`);
      assert.equal(s.image, obj(strata[0]![1], 'first').image, 'one image for every replica');
    }
  });

  it('configures each replica with variables the config reads, on Kafka, on the default port, with its own volume', () => {
    const kafkaListeners = envOf(obj(services.kafka, 'kafka')).KAFKA_ADVERTISED_LISTENERS ?? '';
    const volumes = new Set<string>();
    for (const [name, s] of strata) {
      const config = checkEnv(envOf(s), name);
      assert.equal(config.broker, 'kafka', name);
      assert.equal(config.host, '0.0.0.0', name);
      for (const broker of config.kafkaBrokers) assert.ok(kafkaListeners.includes(`//${broker}`), `${name}: ${broker} is an advertised Kafka listener`);
      assert.ok(list(s.ports, `${name} ports`).some((p) => String(p).endsWith(`:${config.port}`)), `${name} publishes port ${config.port}`);
      assert.equal(config.port, DEFAULTS.port);
      const mounts = list(s.volumes, `${name} volumes`).map(String).filter((v) => v.endsWith(`:${config.dataDir}`));
      assert.equal(mounts.length, 1, `${name} mounts a volume at ${config.dataDir}`);
      const volume = mounts[0]!.split(':')[0]!;
      assert.ok(volume in obj(compose.volumes, 'volumes'), `${volume} is a named volume`);
      assert.ok(!volumes.has(volume), `${volume} belongs to one replica only`);
      volumes.add(volume);
    }
  });

  it('passes the exposure rule at start; without tokens, published on the host loopback only', () => {
    for (const [name, s] of strata) {
      const env = envOf(s);
      const hardening = prepareHardening(checkEnv(env, name), env); // throws where `strata start` would refuse
      if (hardening.exposure !== 'insecure') continue;
      for (const port of list(s.ports, `${name} ports`)) assert.match(String(port), /^127\.0\.0\.1:/, `${name}: no access control, so no LAN exposure`);
    }
  });

  it('gives the derived topics to exactly one replica, and serves the probe route in each role', async () => {
    const roles = strata.map(([name, s]) => checkEnv(envOf(s), name).role);
    assert.equal(roles.filter((r) => roleDuties(r).derivedTopics).length, 1, `roles ${roles.join(', ')}`);
    for (const role of roles) await checkServed(role, ['/healthz', '/readyz'], false);
  });
});

describe('deploy/k8s', () => {
  const dir = join(DEPLOY, 'k8s');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  const docs = files.filter((f) => f !== 'kustomization.yaml').flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => obj(d.toJS(), f)));
  const ofKind = (kind: string): Obj[] => docs.filter((d) => d.kind === kind);
  const nameOf = (d: Obj): string => String(obj(d.metadata, 'metadata').name);
  const configMap = Object.fromEntries(Object.entries(obj(ofKind('ConfigMap')[0]?.data, 'ConfigMap data')).map(([k, v]) => [k, String(v)]));
  const statefulSets = ofKind('StatefulSet');
  const podSpec = (s: Obj): Obj => obj(obj(obj(s.spec, 'spec').template, 'template').spec, 'pod spec');
  const container = (s: Obj): Obj => obj(list(podSpec(s).containers, 'containers')[0], 'container');
  const podLabels = (s: Obj): Obj => obj(obj(obj(obj(s.spec, 'spec').template, 'template').metadata, 'template metadata').labels, 'labels');
  const matches = (selector: Obj, labels: Obj): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);
  /** The container's environment as the CLI sees it: ConfigMap first, then its own entries. */
  const envOf = (c: Obj): Record<string, string> => {
    const own = list(c.env, 'env').map((e) => obj(e, 'env entry'));
    const value = (e: Obj): string => (e.value !== undefined ? String(e.value) : 'from-the-cluster');
    return { ...configMap, ...Object.fromEntries(own.map((e) => [String(e.name), value(e)])) };
  };

  it('kustomization.yaml lists every manifest', () => {
    const kustomization = obj(parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')), 'kustomization');
    assert.deepEqual(list(kustomization.resources, 'resources').map(String).sort(), files.filter((f) => f !== 'kustomization.yaml'));
  });

  it('StatefulSets: a volume claim per replica at the data dir, a headless service, non-root, the config from env', () => {
    assert.equal(statefulSets.length, 2);
    for (const s of statefulSets) {
      const name = nameOf(s);
      const spec = obj(s.spec, 'spec');
      const config = checkEnv(envOf(container(s)), name);
      assert.equal(config.broker, 'kafka', name);
      assert.ok(list(obj(container(s), 'c').envFrom, 'envFrom').some((e) => obj(obj(e, 'envFrom').configMapRef, 'ref').name === nameOf(ofKind('ConfigMap')[0]!)));
      const claims = list(spec.volumeClaimTemplates, `${name} volumeClaimTemplates`).map((c) => nameOf(obj(c, 'claim')));
      const mount = list(container(s).volumeMounts, 'volumeMounts').map((m) => obj(m, 'mount')).find((m) => m.mountPath === config.dataDir);
      assert.ok(mount && claims.includes(String(mount.name)), `${name} mounts its claim at ${config.dataDir}`);
      const headless = ofKind('Service').find((svc) => nameOf(svc) === spec.serviceName);
      assert.equal(obj(headless?.spec, 'headless spec').clusterIP, 'None', `${name}: serviceName is headless`);
      assert.ok(matches(obj(obj(headless!.spec, 's').selector, 'selector'), podLabels(s)));
      assert.ok(matches(obj(obj(spec.selector, 'selector').matchLabels, 'matchLabels'), podLabels(s)));
      // Exposed on the pod network, so access control is on: tokens from a mounted Secret, never --insecure.
      assert.equal(config.hardening.insecure, false, `${name} is not insecure`);
      const tokensDir = dirname(String(config.hardening.tokensFile));
      const tokensMount = list(container(s).volumeMounts, 'volumeMounts').map((m) => obj(m, 'mount')).find((m) => m.mountPath === tokensDir);
      const volume = list(podSpec(s).volumes, 'volumes').map((v) => obj(v, 'volume')).find((v) => v.name === tokensMount?.name);
      assert.ok(volume?.secret, `${name}: ${String(config.hardening.tokensFile)} comes from a Secret`);
      const security = obj(podSpec(s).securityContext, 'securityContext');
      assert.equal(security.runAsNonRoot, true);
      assert.notEqual(security.runAsUser, 0);
      assert.equal(container(s).image, composeImage(), `${name} runs the image compose builds`);
    }
  });

  it('probes hit /readyz and /healthz on the container port, which the app serves in the pod role', async () => {
    for (const s of statefulSets) {
      const c = container(s);
      const config = checkEnv(envOf(c), nameOf(s));
      const port = obj(list(c.ports, 'ports')[0], 'port');
      assert.equal(port.containerPort, config.port);
      assert.equal(config.port, DEFAULTS.port);
      const probe = (key: string): Obj => obj(obj(c[key], key).httpGet, `${key}.httpGet`);
      assert.equal(probe('readinessProbe').path, '/readyz');
      assert.equal(probe('livenessProbe').path, '/healthz');
      const paths = ['readinessProbe', 'livenessProbe', 'startupProbe'].filter((k) => c[k] !== undefined).map((k) => String(probe(k).path));
      for (const k of ['readinessProbe', 'livenessProbe']) assert.ok([port.name, port.containerPort].includes(probe(k).port), `${k} targets the container port`);
      await checkServed(config.role, paths, config.hardening.tokensFile !== null);
    }
  });

  it('the Service reaches API pods on their port; exactly one pod produces derived topics', () => {
    const api = statefulSets.filter((s) => roleDuties(checkEnv(envOf(container(s)), nameOf(s)).role).publicApi);
    const service = ofKind('Service').find((svc) => obj(svc.spec, 'spec').clusterIP !== 'None');
    assert.ok(service, 'a client-facing Service');
    const spec = obj(service.spec, 'spec');
    assert.ok(api.length > 0 && api.every((s) => matches(obj(spec.selector, 'selector'), podLabels(s))), 'it selects the API pods');
    const portNames = api.map((s) => obj(list(container(s).ports, 'ports')[0], 'port').name);
    assert.ok(list(spec.ports, 'ports').every((p) => portNames.includes(obj(p, 'port').targetPort)));
    const producers = statefulSets
      .filter((s) => roleDuties(checkEnv(envOf(container(s)), nameOf(s)).role).derivedTopics)
      .reduce((sum, s) => sum + Number(obj(s.spec, 'spec').replicas ?? 1), 0);
    assert.equal(producers, 1, 'one producer of the changes topics');
  });
});
