// Kafka configuration of the `strata` command: flags > environment, passed through to kafkajs (client id,
// TLS, SASL), with clear errors for what cannot work. Needs no broker.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, kafkaAdapterOptions, loadConfig } from '../../src/cli/config.js';

describe('kafka configuration', () => {
  it('reads the broker list, prefix, client id, TLS and SASL from the environment', () => {
    const config = loadConfig(['start'], {
      STRATA_BROKER: 'kafka',
      KAFKA_BROKERS: 'k1:9092, k2:9092',
      STRATA_TOPIC_PREFIX: 'prod',
      KAFKA_CLIENT_ID: 'strata-a',
      KAFKA_SSL: 'true',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'svc',
      KAFKA_SASL_PASSWORD: 'secret',
    });
    assert.equal(config.broker, 'kafka');
    assert.deepEqual(kafkaAdapterOptions(config), {
      brokers: ['k1:9092', 'k2:9092'],
      topicPrefix: 'prod',
      clientId: 'strata-a',
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: 'svc', password: 'secret' },
    });
  });

  it('flags win over the environment, and the defaults need no Kafka variables at all', () => {
    const config = loadConfig(['start', '--broker', 'kafka', '--kafka-brokers', 'flag:1', '--topic-prefix', 'fromflag'], { KAFKA_BROKERS: 'env:1', STRATA_TOPIC_PREFIX: 'fromenv' });
    assert.deepEqual(kafkaAdapterOptions(config), { brokers: ['flag:1'], topicPrefix: 'fromflag', clientId: 'strata', ssl: false });
    assert.equal(loadConfig([], {}).broker, 'embedded');
  });

  it('rejects a Kafka setup that cannot work, with the option named', () => {
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['--broker', 'kafka'], {}, /kafka-brokers/],
      [['--broker', 'kafka', '--kafka-brokers', 'k:1'], { KAFKA_SSL: 'maybe' }, /kafka-ssl/],
      [['--broker', 'kafka', '--kafka-brokers', 'k:1'], { KAFKA_SASL_MECHANISM: 'kerberos' }, /kafka-sasl-mechanism/],
      [['--broker', 'kafka', '--kafka-brokers', 'k:1'], { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' }, /KAFKA_SASL_PASSWORD/],
    ];
    for (const [argv, env, message] of cases) assert.throws(() => loadConfig(argv, env), (err: unknown) => err instanceof ConfigError && message.test(err.message));
  });
});
