// Fault injection on the test plane: restarting the API server through the harness, and the
// fault proxy (src/testplane/fault-proxy.ts) in front of the real API server, with a KubeConfig
// that sends a client through it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { FaultProxy, type ProxyLogEntry } from '../../src/testplane/fault-proxy.js';
import { kubeConfig, testEnv } from './env.js';

/**
 * Restarts the plane's kube-apiserver (same address, certificate and etcd) and resolves once it
 * is ready again, with how long it was unavailable.
 */
export async function restartApiServer(
  options: { downMs?: number; kill?: boolean } = {},
): Promise<{ pid: number; unavailableMs: number; stopMs: number; startMs: number }> {
  const { controlUrl, controlToken } = testEnv();
  if (!controlUrl) throw new Error('no harness control endpoint in env.json: run via npm test');
  const query = new URLSearchParams({ downMs: String(options.downMs ?? 0), kill: String(!!options.kill) });
  const res = await fetch(`${controlUrl}/kube-apiserver/restart?${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${controlToken}` },
    signal: AbortSignal.timeout(180_000),
  });
  const body = (await res.json()) as {
    pid: number;
    unavailableMs: number;
    stopMs: number;
    startMs: number;
    error?: string;
  };
  if (!res.ok) throw new Error(`restart of kube-apiserver failed: ${body.error ?? res.status}`);
  return body;
}

/** A fault proxy in front of the plane's API server, serving the API server's own certificate. */
export async function apiServerProxy(): Promise<{ proxy: FaultProxy; config: KubeConfig }> {
  const env = testEnv();
  const certDir = join(env.dir, 'certs');
  const proxy = new FaultProxy({
    upstream: env.apiServerUrl,
    upstreamCa: readFileSync(env.caFile),
    tls: {
      cert: readFileSync(join(certDir, 'apiserver.crt')),
      key: readFileSync(join(certDir, 'apiserver.key')),
    },
  });
  await proxy.start();
  const admin = kubeConfig();
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: admin.clusters.map((c) => ({ ...c, server: proxy.url })),
    users: admin.users,
    contexts: admin.contexts,
    currentContext: admin.currentContext,
  });
  return { proxy, config };
}

/** A list (not a watch) of a collection under `prefix`, e.g. `/apis/apps/v1/deployments`. */
export const isList = (prefix: string) => (e: ProxyLogEntry) =>
  e.method === 'GET' && !e.watch && e.path === prefix;

/** A watch of exactly this collection. */
export const isWatch = (prefix: string) => (e: ProxyLogEntry) =>
  e.method === 'GET' && e.watch && e.path === prefix;

/** A server-side apply (PATCH) of the Deployment `name` in `namespace`. */
export const isApplyOf = (namespace: string, name: string) => (e: ProxyLogEntry) =>
  e.method === 'PATCH' && e.path === `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`;
