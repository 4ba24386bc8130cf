// The operator's HTTP endpoints: /metrics, /healthz and /readyz.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface Endpoint {
  server: http.Server;
  port: number;
}

/** Parses `host:port` or `:port` (the original's flag format); port 0 picks a free port. */
export function parseBindAddress(text: string): { host: string; port: number } {
  const at = text.lastIndexOf(':');
  if (at < 0) throw new Error(`invalid bind address ${JSON.stringify(text)}: expected host:port or :port`);
  const port = Number(text.slice(at + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`invalid port in bind address ${JSON.stringify(text)}`);
  return { host: text.slice(0, at) || '0.0.0.0', port };
}

export async function serve(
  address: string,
  routes: Record<string, () => Promise<{ status: number; body: string; type?: string }>>,
): Promise<Endpoint> {
  const { host, port } = parseBindAddress(address);
  const server = http.createServer((req, res) => {
    const route = routes[(req.url ?? '/').split('?')[0]!];
    if (!route) {
      res.writeHead(404).end('not found\n');
      return;
    }
    route()
      .then(({ status, body, type }) =>
        res.writeHead(status, { 'Content-Type': type ?? 'text/plain' }).end(body),
      )
      .catch((error: unknown) => res.writeHead(500).end(`${String(error)}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

export const metricsRoute = (registry: Registry) => async () => ({
  status: 200,
  body: await registry.metrics(),
  type: registry.contentType,
});
