// References to Secrets and TLS settings, shared by the sources that take credentials: their
// schema parts, and the walks that turn them into Secret keys to read.
//
// Credentials come from Secrets in the Consumer's own namespace (there is deliberately no
// namespace field): the operator reads each one with a GET by name, which a namespace owner
// grants with a Role limited by resourceNames (docs/credentials.md).
import { Type } from '@sinclair/typebox';
import { object } from '../../util/schema-parts.js';
import type { CredentialsPlan, SecretUse } from './source.js';

const SECRET_NAME_PATTERN = '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$';
const SECRET_KEY_PATTERN = '^[-._a-zA-Z0-9]+$';

export const DEFAULT_KEYS = {
  ca: 'ca.crt',
  cert: 'tls.crt',
  key: 'tls.key',
  username: 'username',
  password: 'password',
} as const;

const SecretName = Type.String({
  description: "Name of a Secret in the Consumer's namespace.",
  minLength: 1,
  maxLength: 253,
  pattern: SECRET_NAME_PATTERN,
});

export const SecretKey = (description: string) =>
  Type.Optional(Type.String({ description, minLength: 1, maxLength: 253, pattern: SECRET_KEY_PATTERN }));

export const SecretRef = (description: string) => object({ name: SecretName }, { description });

const ServerName = Type.Optional(
  Type.String({
    description:
      "Host name to verify the server's certificate against, when it differs from the address's host.",
    minLength: 1,
    maxLength: 253,
    pattern: '^[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?$',
  }),
);

const CaSecretRef = object(
  {
    name: SecretName,
    key: SecretKey('Key of the PEM CA bundle in the Secret (default ca.crt).'),
  },
  {
    description:
      "Secret holding the PEM CA bundle that signs the server's certificate; it replaces the system CAs.",
  },
);

const CertSecretRef = object(
  {
    name: SecretName,
    certKey: SecretKey('Key of the PEM client certificate (default tls.crt).'),
    keyKey: SecretKey('Key of the PEM private key (default tls.key).'),
  },
  {
    description:
      'Secret holding a client certificate and key for mutual TLS (a kubernetes.io/tls Secret fits).',
  },
);

export const tlsFields = {
  insecureSkipVerify: Type.Optional(
    Type.Boolean({ description: 'Accept any server certificate (insecure: for tests only).' }),
  ),
  caSecretRef: Type.Optional(CaSecretRef),
  certSecretRef: Type.Optional(CertSecretRef),
  serverName: ServerName,
};

/** One key of a Secret; `fallback` is the key used when the spec names none. */
export const secretUse = (
  secret: string,
  ref: string,
  keyField: string,
  key: string | undefined,
  fallback: string | undefined,
  kind: SecretUse['kind'],
): SecretUse => ({
  secret,
  key: key ?? fallback ?? '',
  ref,
  keyField,
  defaulted: key === undefined,
  kind,
});

/** The Secret-held parts of TLS settings: a CA bundle, a client certificate and key. */
export interface TlsSecrets {
  ca?: string;
  cert?: string;
  key?: string;
}

interface TlsRefs {
  caSecretRef?: { name: string; key?: string };
  certSecretRef?: { name: string; certKey?: string; keyKey?: string };
}

/** The CA and client certificate the TLS settings at `path` name. */
export function tlsSecrets(tls: TlsRefs, path: string): CredentialsPlan<TlsSecrets> {
  const uses: SecretUse[] = [];
  const { caSecretRef: ca, certSecretRef: cert } = tls;
  const caUse = ca
    ? secretUse(ca.name, `${path}.caSecretRef`, `${path}.caSecretRef.key`, ca.key, DEFAULT_KEYS.ca, 'pem')
    : undefined;
  if (caUse) uses.push(caUse);
  const ref = `${path}.certSecretRef`;
  const certUses = cert
    ? [
        secretUse(cert.name, ref, `${ref}.certKey`, cert.certKey, DEFAULT_KEYS.cert, 'pem'),
        secretUse(cert.name, ref, `${ref}.keyKey`, cert.keyKey, DEFAULT_KEYS.key, 'pem'),
      ]
    : undefined;
  if (certUses) uses.push(...certUses);
  return {
    uses,
    build: (value) => ({
      ...(caUse ? { ca: value(caUse) } : {}),
      ...(certUses ? { cert: value(certUses[0]!), key: value(certUses[1]!) } : {}),
    }),
  };
}

/** A source that reads no Secret. */
export const noCredentials: CredentialsPlan<undefined> = { uses: [], build: () => undefined };
