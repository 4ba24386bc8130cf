// Mode `prometheus`: the original's three PromQL queries (messages behind, production and
// consumption rates per partition), sent to every address; optional bearer or basic auth and TLS
// from Secrets. The HTTP client is in ../prometheus.ts, loaded when the first provider is made.
import { Type, type Static } from '@sinclair/typebox';
import { object, rules } from '../../util/schema-parts.js';
import type { HttpAuth, HttpTls } from '../http.js';
import { estimationFields, estimationSettings, lagOrder } from './estimation.js';
import { DEFAULT_KEYS, SecretKey, SecretRef, secretUse, tlsFields, tlsSecrets } from './secret-refs.js';
import { defineSource, type CredentialsPlan, type SecretUse } from './source.js';

const Query = object(
  {
    query: Type.String({
      description: 'PromQL returning one series per partition.',
      minLength: 1,
      maxLength: 16384,
    }),
    partitionLabel: Type.String({
      description: 'Label of the series that holds the partition number.',
      minLength: 1,
      maxLength: 256,
      pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$',
    }),
  },
  { description: 'A PromQL query and the label that carries the partition number.' },
);

const PrometheusAuth = object(
  {
    secretRef: SecretRef("Secret in the Consumer's namespace holding the credentials."),
    bearerTokenKey: SecretKey('Key of the bearer token in the Secret (sent as Authorization: Bearer).'),
    usernameKey: SecretKey('Key of the basic-auth user name in the Secret (with passwordKey).'),
    passwordKey: SecretKey('Key of the basic-auth password in the Secret (with usernameKey).'),
  },
  {
    description:
      '(new) Credentials sent to every address: a bearer token (bearerTokenKey) or basic auth ' +
      '(usernameKey and passwordKey), read from a Secret the operator is allowed to get (docs/credentials.md).',
    ...rules(
      {
        rule: '!has(self.bearerTokenKey) || (!has(self.usernameKey) && !has(self.passwordKey))',
        message: 'set either bearerTokenKey or usernameKey and passwordKey, not both',
      },
      {
        rule: 'has(self.bearerTokenKey) || (has(self.usernameKey) && has(self.passwordKey))',
        message: 'set bearerTokenKey, or both usernameKey and passwordKey',
      },
    ),
  },
);

const PrometheusTls = object(tlsFields, {
  description:
    "(new) TLS settings for https addresses; certificates come from Secrets in the Consumer's namespace.",
});

export const PrometheusSection = object(
  {
    address: Type.Array(
      Type.String({
        pattern: '^https?://[^\\s]+$',
        maxLength: 2048,
        ...rules({
          rule: "isURL(self) && url(self).getHostname() != '' && (url(self).getPort() == '' || (int(url(self).getPort()) >= 1 && int(url(self).getPort()) <= 65535))",
          message: 'must be an http(s) URL with a host name and a port from 1 to 65535',
        }),
      }),
      {
        description: 'Prometheus base URLs (e.g. http://prometheus:9090), queried in parallel.',
        minItems: 1,
        maxItems: 16,
      },
    ),
    offset: { ...Query, description: 'Messages behind (lag in messages) per partition.' },
    production: { ...Query, description: 'Produced messages per second per partition.' },
    consumption: { ...Query, description: 'Consumed messages per second per partition.' },
    auth: Type.Optional(PrometheusAuth),
    tls: Type.Optional(PrometheusTls),
    ...estimationFields,
  },
  { description: 'Prometheus metrics provider settings.', ...lagOrder },
);
export type PrometheusSection = Static<typeof PrometheusSection>;

/** The client options that come from the section's auth and tls. */
export interface PrometheusCredentials {
  auth?: HttpAuth;
  tls?: HttpTls;
}

type Auth = NonNullable<PrometheusSection['auth']>;

function authSecrets(auth: Auth, path: string): CredentialsPlan<HttpAuth> {
  const ref = `${path}.secretRef`;
  const name = auth.secretRef.name;
  const key = (field: 'bearerTokenKey' | 'usernameKey' | 'passwordKey', fallback?: string): SecretUse =>
    secretUse(name, ref, `${path}.${field}`, auth[field], fallback, 'text');
  if (auth.bearerTokenKey !== undefined) {
    const token = key('bearerTokenKey');
    return { uses: [token], build: (value) => ({ bearerToken: value(token) }) };
  }
  const username = key('usernameKey', DEFAULT_KEYS.username);
  const password = key('passwordKey', DEFAULT_KEYS.password);
  return {
    uses: [username, password],
    build: (value) => ({ username: value(username), password: value(password) }),
  };
}

function credentials(section: PrometheusSection, path: string): CredentialsPlan<PrometheusCredentials> {
  const { auth, tls } = section;
  const authPlan = auth ? authSecrets(auth, `${path}.auth`) : undefined;
  const tlsPlan = tls ? tlsSecrets(tls, `${path}.tls`) : undefined;
  return {
    uses: [...(authPlan?.uses ?? []), ...(tlsPlan?.uses ?? [])],
    build: (value) => ({
      ...(authPlan ? { auth: authPlan.build(value) } : {}),
      ...(tls && tlsPlan
        ? {
            tls: {
              ...tlsPlan.build(value),
              ...(tls.insecureSkipVerify !== undefined ? { insecureSkipVerify: tls.insecureSkipVerify } : {}),
              ...(tls.serverName !== undefined ? { serverName: tls.serverName } : {}),
            },
          }
        : {}),
    }),
  };
}

export const prometheusSource = defineSource({
  mode: 'prometheus',
  summary: 'PromQL queries',
  section: PrometheusSection,
  settings: estimationSettings,
  check(section) {
    // TLS settings only apply to https addresses: with none, they are silently unused.
    if (section.tls && !section.address.some((a) => a.startsWith('https://'))) {
      return {
        warnings: [
          {
            field: 'tls',
            message: 'is set, but every address is http://: the TLS settings are not used',
          },
        ],
      };
    }
    return {};
  },
  credentials,
  async create(section, options, { observer, endpointPolicy }) {
    const { PrometheusProvider } = await import('../prometheus.js');
    return new PrometheusProvider({
      addresses: section.address,
      offset: section.offset,
      production: section.production,
      consumption: section.consumption,
      observer,
      ...options,
      ...(endpointPolicy ? { endpointPolicy } : {}),
    });
  },
});
