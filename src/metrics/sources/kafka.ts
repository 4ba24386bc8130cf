// Mode `kafka`: lag and rates straight from the brokers' admin API, no Prometheus; optional TLS
// and SASL with credentials from Secrets. The Kafka client (src/kafka/client.ts, through ../kafka.ts) is loaded
// when the first provider is made, so an operator without a kafka Consumer never loads it.
import { Type, type Static } from '@sinclair/typebox';
import { object, rules, StringEnum } from '../../util/schema-parts.js';
import type { KafkaSasl, KafkaTls } from '../kafka.js';
import { estimationFields, estimationSettings, lagOrder } from './estimation.js';
import { DEFAULT_KEYS, SecretKey, SecretRef, secretUse, tlsFields, tlsSecrets } from './secret-refs.js';
import { defineSource, type CredentialsPlan, type SecretUse } from './source.js';

const KafkaTlsSection = object(
  {
    enabled: Type.Boolean({ description: 'Connect to the brokers with TLS.' }),
    ...tlsFields,
  },
  {
    description: "(new) TLS to the brokers; certificates come from Secrets in the Consumer's namespace.",
    ...rules({
      rule:
        'self.enabled || (!has(self.insecureSkipVerify) && !has(self.caSecretRef) && ' +
        '!has(self.certSecretRef) && !has(self.serverName))',
      message: 'insecureSkipVerify, caSecretRef, certSecretRef and serverName need enabled: true',
    }),
  },
);

const KafkaSaslSection = object(
  {
    mechanism: StringEnum(['plain', 'scram-sha-256', 'scram-sha-512'], {
      description: 'SASL mechanism (plain sends the password as is: use it with TLS).',
    }),
    secretRef: SecretRef("Secret in the Consumer's namespace holding the user name and password."),
    usernameKey: SecretKey('Key of the user name in the Secret (default username).'),
    passwordKey: SecretKey('Key of the password in the Secret (default password).'),
  },
  { description: '(new) SASL authentication to the brokers, credentials read from a Secret.' },
);

export const KafkaSection = object(
  {
    brokers: Type.Array(
      Type.String({
        pattern: '^[^\\s:/]+:[0-9]{1,5}$',
        maxLength: 512,
        ...rules({
          rule: "int(self.substring(self.lastIndexOf(':') + 1)) >= 1 && int(self.substring(self.lastIndexOf(':') + 1)) <= 65535",
          message: 'the port must be from 1 to 65535',
        }),
      }),
      {
        description:
          'Bootstrap brokers (host:port). Offsets are read with the Kafka admin API; no Prometheus needed.',
        minItems: 1,
        maxItems: 32,
      },
    ),
    topic: Type.String({
      description: 'The topic the group consumes.',
      minLength: 1,
      maxLength: 249,
      pattern: '^[a-zA-Z0-9._-]+$',
    }),
    groupId: Type.String({
      description: 'The consumer group whose committed offsets give the lag.',
      minLength: 1,
      maxLength: 255,
    }),
    tls: Type.Optional(KafkaTlsSection),
    sasl: Type.Optional(KafkaSaslSection),
    uncommitted: Type.Optional(
      StringEnum(['unknown', 'earliest'], {
        description:
          '(new) Messages behind of a partition the group never committed: unknown (default: not resized ' +
          'until the consumer commits), or earliest (the whole log, for a consumer that starts there: ' +
          'auto.offset.reset=earliest).',
      }),
    ),
    ...estimationFields,
  },
  {
    description: '(new) Kafka admin API metrics provider: lag and rates straight from the brokers.',
    ...lagOrder,
  },
);
export type KafkaSection = Static<typeof KafkaSection>;

/** The client options that come from the section's tls and sasl. */
export interface KafkaCredentials {
  tls?: boolean | KafkaTls;
  sasl?: KafkaSasl;
}

type Tls = NonNullable<KafkaSection['tls']>;
type Sasl = NonNullable<KafkaSection['sasl']>;

function tlsPlan(tls: Tls, path: string): CredentialsPlan<boolean | KafkaTls> {
  // `enabled` alone: TLS with the system CAs (`tls: true` for the client adapter).
  const custom =
    tls.caSecretRef || tls.certSecretRef || tls.insecureSkipVerify !== undefined || tls.serverName;
  if (!custom) return { uses: [], build: () => true };
  const secrets = tlsSecrets(tls, path);
  return {
    uses: secrets.uses,
    build: (value) => ({
      ...secrets.build(value),
      rejectUnauthorized: !tls.insecureSkipVerify,
      ...(tls.serverName !== undefined ? { serverName: tls.serverName } : {}),
    }),
  };
}

function saslPlan(sasl: Sasl, path: string): CredentialsPlan<KafkaSasl> {
  const ref = `${path}.secretRef`;
  const key = (field: 'usernameKey' | 'passwordKey', fallback: string): SecretUse =>
    secretUse(sasl.secretRef.name, ref, `${path}.${field}`, sasl[field], fallback, 'text');
  const username = key('usernameKey', DEFAULT_KEYS.username);
  const password = key('passwordKey', DEFAULT_KEYS.password);
  return {
    uses: [username, password],
    build: (value) => ({ mechanism: sasl.mechanism, username: value(username), password: value(password) }),
  };
}

function credentials(section: KafkaSection, path: string): CredentialsPlan<KafkaCredentials> {
  const tls = section.tls?.enabled ? tlsPlan(section.tls, `${path}.tls`) : undefined;
  const sasl = section.sasl ? saslPlan(section.sasl, `${path}.sasl`) : undefined;
  return {
    uses: [...(tls?.uses ?? []), ...(sasl?.uses ?? [])],
    build: (value) => ({
      ...(tls ? { tls: tls.build(value) } : {}),
      ...(sasl ? { sasl: sasl.build(value) } : {}),
    }),
  };
}

export const kafkaSource = defineSource({
  mode: 'kafka',
  summary: "the brokers' admin API",
  section: KafkaSection,
  settings: estimationSettings,
  check(section) {
    if (section.sasl?.mechanism === 'plain' && !section.tls?.enabled) {
      return {
        warnings: [
          {
            field: 'sasl.mechanism',
            message: 'is plain without tls.enabled: the password crosses the network unencrypted',
          },
        ],
      };
    }
    return {};
  },
  credentials,
  async create(section, options, { consumerName, endpointPolicy }) {
    const { KafkaProvider } = await import('../kafka.js');
    return new KafkaProvider({
      brokers: section.brokers,
      topic: section.topic,
      groupId: section.groupId,
      clientId: `konsumerator-${consumerName}`,
      ...(section.uncommitted ? { uncommitted: section.uncommitted } : {}),
      ...options,
      ...(endpointPolicy ? { endpointPolicy } : {}),
    });
  },
});
