// Where the API server is and how to authenticate to it: a kubeconfig file (the current context's
// cluster and user) or, inside a pod, the service account's token and CA. Only what the operator
// needs of the kubeconfig format is read; an entry it cannot honour (an auth-provider plugin other
// than a token file) is an error at start, never a silent unauthenticated client.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PROXY_SCHEMES } from './proxy.js';

/** A credential plugin run to get a token or client certificate (kubeconfig `users[].user.exec`). */
export interface ExecPlugin {
  command: string;
  args: string[];
  env: Record<string, string>;
  apiVersion: string;
  /** Directory relative commands are resolved from (the kubeconfig's). */
  dir: string;
}

export interface ClusterAccess {
  /** `https://host:port` (or http), without a trailing slash. */
  server: string;
  /** PEM of the CA that signed the API server's certificate; undefined: the system's CAs. */
  ca?: Buffer;
  insecureSkipTlsVerify?: boolean;
  tlsServerName?: string;
  /**
   * kubeconfig `proxy-url`: an http, https or socks5 proxy every connection goes through. Unset:
   * the client takes HTTPS_PROXY/HTTP_PROXY and NO_PROXY from the environment (see proxy.ts).
   */
  proxyUrl?: string;
  clientCert?: Buffer;
  clientKey?: Buffer;
  token?: string;
  /** Read again (at most once a minute) so a rotated token is used, as client-go does. */
  tokenFile?: string;
  username?: string;
  password?: string;
  impersonate?: string;
  exec?: ExecPlugin;
  /** The context's namespace, if any. */
  namespace?: string;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

type Entry = Record<string, unknown>;
interface KubeconfigFile {
  clusters?: { name: string; cluster?: Entry }[];
  users?: { name: string; user?: Entry }[];
  contexts?: { name: string; context?: Entry }[];
  'current-context'?: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * The current context of a kubeconfig (YAML or JSON text). `dir`: where relative file paths in it
 * are resolved from. Several files (as in $KUBECONFIG) merge as kubectl merges them: the first
 * entry of a name wins, and the first current-context set.
 */
export function accessFromKubeconfig(
  files: { text: string; dir: string }[],
  context?: string,
): ClusterAccess {
  const clusters = new Map<string, { entry: Entry; dir: string }>();
  const users = new Map<string, { entry: Entry; dir: string }>();
  const contexts = new Map<string, Entry>();
  let current: string | undefined;
  for (const { text, dir } of files) {
    const doc = (parseYaml(text) ?? {}) as KubeconfigFile;
    for (const c of doc.clusters ?? [])
      if (!clusters.has(c.name)) clusters.set(c.name, { entry: c.cluster ?? {}, dir });
    for (const u of doc.users ?? []) if (!users.has(u.name)) users.set(u.name, { entry: u.user ?? {}, dir });
    for (const c of doc.contexts ?? []) if (!contexts.has(c.name)) contexts.set(c.name, c.context ?? {});
    current ??= str(doc['current-context']);
  }
  const name = context ?? current;
  if (!name) throw new Error('the kubeconfig has no current-context');
  const ctx = contexts.get(name);
  if (!ctx) throw new Error(`the kubeconfig has no context "${name}"`);
  const cluster = clusters.get(str(ctx.cluster) ?? '');
  if (!cluster || !str(cluster.entry.server))
    throw new Error(`context "${name}": cluster "${String(ctx.cluster)}" has no server`);
  const user = users.get(str(ctx.user) ?? '') ?? { entry: {}, dir: cluster.dir };
  const c = cluster.entry;
  const u = user.entry;
  const file = (dir: string, path: unknown) => {
    const p = str(path);
    return p === undefined ? undefined : readFileSync(isAbsolute(p) ? p : join(dir, p));
  };
  const data = (value: unknown) => (str(value) ? Buffer.from(str(value)!, 'base64') : undefined);
  const access: ClusterAccess = { server: str(c.server)!.replace(/\/+$/, '') };
  const ca = data(c['certificate-authority-data']) ?? file(cluster.dir, c['certificate-authority']);
  if (ca) access.ca = ca;
  if (c['insecure-skip-tls-verify'] === true) access.insecureSkipTlsVerify = true;
  if (str(c['tls-server-name'])) access.tlsServerName = str(c['tls-server-name'])!;
  if (str(c['proxy-url'])) access.proxyUrl = checkedProxyUrl(str(c['proxy-url'])!, name);
  const cert = data(u['client-certificate-data']) ?? file(user.dir, u['client-certificate']);
  const key = data(u['client-key-data']) ?? file(user.dir, u['client-key']);
  if (cert) access.clientCert = cert;
  if (key) access.clientKey = key;
  if (str(u.token)) access.token = str(u.token)!;
  const provider = u['auth-provider'] as { name?: string; config?: Entry } | undefined;
  const tokenFile =
    str(u.tokenFile) ?? (provider?.name === 'tokenFile' ? str(provider.config?.tokenFile) : undefined);
  if (tokenFile) access.tokenFile = isAbsolute(tokenFile) ? tokenFile : join(user.dir, tokenFile);
  else if (provider)
    throw new Error(
      `user "${String(ctx.user)}": auth-provider "${provider.name}" is not supported; use an exec plugin`,
    );
  if (str(u.username)) access.username = str(u.username)!;
  if (str(u.password)) access.password = str(u.password)!;
  if (str(u.as)) access.impersonate = str(u.as)!;
  const exec = u.exec as Entry | undefined;
  if (exec && str(exec.command)) {
    const env: Record<string, string> = {};
    for (const e of (exec.env as { name: string; value: string }[] | null | undefined) ?? [])
      env[e.name] = e.value;
    access.exec = {
      command: str(exec.command)!,
      args: ((exec.args as string[] | null | undefined) ?? []).map(String),
      env,
      apiVersion: str(exec.apiVersion) ?? 'client.authentication.k8s.io/v1',
      dir: user.dir,
    };
  }
  if (str(ctx.namespace)) access.namespace = str(ctx.namespace)!;
  return access;
}

/** The schemes kubectl takes in `proxy-url`; anything else is an error at start, not a direct connection. */
function checkedProxyUrl(value: string, context: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`context "${context}": proxy-url is not a URL`);
  }
  if (!PROXY_SCHEMES.includes(url.protocol))
    throw new Error(
      `context "${context}": proxy-url scheme "${url.protocol.replace(/:$/, '')}" is not supported (use http, https or socks5)`,
    );
  return value;
}

/** Inside a pod: the service account's token (re-read on rotation) and CA, the API server from the environment. */
export function inClusterAccess(
  env: NodeJS.ProcessEnv = process.env,
  dir = SERVICE_ACCOUNT_DIR,
): ClusterAccess {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new Error('not in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set');
  const access: ClusterAccess = {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    tokenFile: join(dir, 'token'),
  };
  const caFile = join(dir, 'ca.crt');
  if (existsSync(caFile)) access.ca = readFileSync(caFile);
  const nsFile = join(dir, 'namespace');
  if (existsSync(nsFile)) access.namespace = readFileSync(nsFile, 'utf8').trim();
  return access;
}

const readKubeconfig = (path: string) => ({ text: readFileSync(path, 'utf8'), dir: dirname(path) });

/**
 * The explicit kubeconfig file, else the default chain: $KUBECONFIG (a list of files), then
 * ~/.kube/config, then the pod's service account.
 */
export function loadClusterAccess(path?: string, env: NodeJS.ProcessEnv = process.env): ClusterAccess {
  if (path) return accessFromKubeconfig([readKubeconfig(path)]);
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p && existsSync(p));
  if (listed.length > 0) return accessFromKubeconfig(listed.map(readKubeconfig));
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return accessFromKubeconfig([readKubeconfig(home)]);
  if (existsSync(join(SERVICE_ACCOUNT_DIR, 'token')) && env.KUBERNETES_SERVICE_HOST)
    return inClusterAccess(env);
  throw new Error('no Kubernetes cluster configured (use --kubeconfig or $KUBECONFIG)');
}

/** A kubeconfig held elsewhere in the program: anything that exports the file's text (client-node's KubeConfig does). */
export interface ExportsKubeconfig {
  exportConfig(): string;
}

export type ClusterSource = ClusterAccess | ExportsKubeconfig;

export function toClusterAccess(source: ClusterSource): ClusterAccess {
  if ('exportConfig' in source && typeof source.exportConfig === 'function')
    return accessFromKubeconfig([{ text: source.exportConfig(), dir: process.cwd() }]);
  return source as ClusterAccess;
}
