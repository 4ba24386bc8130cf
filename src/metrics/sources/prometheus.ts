// Mode `prometheus`: the original's three PromQL queries (messages behind, production and
// consumption rates per partition), sent to every address; optional bearer or basic auth and TLS
// from Secrets. The HTTP client is in ../prometheus.ts, loaded when the first provider is made.
import { Type, type Static } from '@sinclair/typebox';
import { object, rules } from '../../util/schema-parts.js';
import type { HttpAuth, HttpTls } from '../http.js';
import { estimationFields, estimationSettings, lagOrder } from './estimation.js';
import { DEFAULT_KEYS, SecretKey, SecretRef, secretUse, tlsFields, tlsSecrets } from './secret-refs.js';
import { defineSource, type CredentialsPlan, type SecretUse } from './source.js';
import { CLIENT_SET_HEADERS } from '../../net/client-headers.js';

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

/**
 * Headers the HTTP client sets itself, or that `auth` sets: a header of the spec must not replace
 * them (Authorization comes from `auth`, so its value is in a Secret).
 */
export const RESERVED_HEADERS = ['authorization', 'proxy-authorization', ...CLIENT_SET_HEADERS] as const;

/** A regular expression for `word` in any case (RE2's and JavaScript's (?i) flags differ). */
const anyCase = (word: string) => word.replace(/[a-z]/g, (c) => `[${c.toUpperCase()}${c}]`);

const PrometheusHeader = object(
  {
    name: Type.String({
      description: 'Header name, e.g. X-Scope-OrgID.',
      minLength: 1,
      maxLength: 256,
      pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$",
      ...rules({
        rule: `!self.matches('^(${RESERVED_HEADERS.map(anyCase).join('|')})$')`,
        message: `must not be one of ${RESERVED_HEADERS.join(', ')} (credentials go in auth)`,
      }),
    }),
    value: Type.Optional(
      Type.String({
        description: 'The value, in plain text in the spec: for what is not a secret (a tenant id).',
        maxLength: 4096,
        pattern: '^[^\\r\\n]*$',
      }),
    ),
    valueFrom: Type.Optional(
      object(
        {
          secretKeyRef: object(
            {
              name: SecretRef("Secret in the Consumer's namespace holding the value.").properties.name,
              key: Type.String({
                description: 'Key of the value in the Secret.',
                minLength: 1,
                maxLength: 253,
                pattern: '^[-._a-zA-Z0-9]+$',
              }),
            },
            { description: 'A key of a Secret the operator is allowed to get (docs/credentials.md).' },
          ),
        },
        { description: 'The value read from a Secret: for a header that carries a credential.' },
      ),
    ),
  },
  {
    description: '(new) A header sent with every query to every address.',
    ...rules({
      rule: 'has(self.value) != has(self.valueFrom)',
      message: 'set either value or valueFrom',
    }),
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
    headers: Type.Optional(
      Type.Array(PrometheusHeader, {
        description:
          '(new) Extra headers sent with every query, e.g. X-Scope-OrgID for multi-tenant Mimir, Cortex or ' +
          'Thanos; a value is given in plain text or read from a Secret.',
        maxItems: 16,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
    ),
    ...estimationFields,
  },
  { description: 'Prometheus metrics provider settings.', ...lagOrder },
);
export type PrometheusSection = Static<typeof PrometheusSection>;

/** The client options that come from the section's auth, tls and headers. */
export interface PrometheusCredentials {
  auth?: HttpAuth;
  tls?: HttpTls;
  headers?: Record<string, string>;
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

/** The headers: plain values as they are, the others read from their Secrets. */
function headerValues(
  headers: NonNullable<PrometheusSection['headers']>,
  path: string,
): CredentialsPlan<Record<string, string>> {
  const fromSecrets = headers.flatMap((header, i) => {
    const ref = header.valueFrom?.secretKeyRef;
    if (!ref) return [];
    const at = `${path}[${i}].valueFrom.secretKeyRef`;
    return [{ name: header.name, use: secretUse(ref.name, at, `${at}.key`, ref.key, undefined, 'text') }];
  });
  return {
    uses: fromSecrets.map((h) => h.use),
    build: (value) => {
      const out: Record<string, string> = {};
      for (const header of headers) if (header.value !== undefined) out[header.name] = header.value;
      for (const { name, use } of fromSecrets) out[name] = value(use);
      return out;
    },
  };
}

function credentials(section: PrometheusSection, path: string): CredentialsPlan<PrometheusCredentials> {
  const { auth, tls, headers } = section;
  const authPlan = auth ? authSecrets(auth, `${path}.auth`) : undefined;
  const tlsPlan = tls ? tlsSecrets(tls, `${path}.tls`) : undefined;
  const headersPlan = headers?.length ? headerValues(headers, `${path}.headers`) : undefined;
  return {
    uses: [...(authPlan?.uses ?? []), ...(tlsPlan?.uses ?? []), ...(headersPlan?.uses ?? [])],
    build: (value) => ({
      ...(headersPlan ? { headers: headersPlan.build(value) } : {}),
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

/** Header names given more than once, compared without case (the list-map key is case-sensitive). */
function duplicateHeaders(headers: ReadonlyArray<{ name: string }>): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const { name } of headers) {
    const key = name.toLowerCase();
    if (seen.has(key)) twice.add(name);
    seen.add(key);
  }
  return [...twice];
}

export const prometheusSource = defineSource({
  mode: 'prometheus',
  summary: 'PromQL queries',
  section: PrometheusSection,
  settings: estimationSettings,
  check(section) {
    const errors = duplicateHeaders(section.headers ?? []).map((name) => ({
      field: 'headers',
      message: `names the header ${name} more than once (header names are case-insensitive)`,
    }));
    // TLS settings only apply to https addresses: with none, they are silently unused.
    const warnings =
      section.tls && !section.address.some((a) => a.startsWith('https://'))
        ? [{ field: 'tls', message: 'is set, but every address is http://: the TLS settings are not used' }]
        : [];
    return { ...(errors.length ? { errors } : {}), ...(warnings.length ? { warnings } : {}) };
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
