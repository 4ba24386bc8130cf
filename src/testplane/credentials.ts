// Files the apiserver and its clients need before anything starts: the service-account signing
// key, the static admin token, and an admin kubeconfig.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

/** RSA key used both to sign service-account tokens (apiserver, KCM) and to verify them. */
export function writeServiceAccountKey(path: string): void {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  writeFileSync(path, privateKey, { mode: 0o600 });
}

/** Writes a --token-auth-file whose single user is in system:masters; returns the token. */
export function writeAdminTokenFile(path: string): string {
  const token = randomBytes(24).toString('hex');
  writeFileSync(path, `${token},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });
  return token;
}

export interface KubeconfigParams {
  server: string;
  token: string;
  caFile: string;
  user?: string;
}

/** A kubeconfig with one cluster, one token user and one current context, all named "testplane". */
export function kubeconfigYaml({ server, token, caFile, user = 'admin' }: KubeconfigParams): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'testplane', cluster: { server, 'certificate-authority': caFile } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'testplane', context: { cluster: 'testplane', user, namespace: 'default' } }],
    'current-context': 'testplane',
  });
}

export function writeKubeconfig(path: string, params: KubeconfigParams): void {
  writeFileSync(path, kubeconfigYaml(params), { mode: 0o600 });
}
