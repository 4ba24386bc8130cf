// The harness's control endpoint: test files run in their own processes, but the plane's
// components are children of the harness, so a test that must restart one (a fault test) asks
// the harness over loopback HTTP. One route for now: POST /kube-apiserver/restart.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { TestPlane } from './index.js';

export interface ControlServer {
  /** For env.json: `http://127.0.0.1:<port>` and the bearer token every request must carry. */
  env: { controlUrl: string; controlToken: string };
  close(): Promise<void>;
}

export async function serveControl(
  plane: Pick<TestPlane, 'restartApiServer'>,
  afterRestart: () => void = () => undefined,
): Promise<ControlServer> {
  const token = randomBytes(16).toString('hex');
  // One restart at a time: a second request waits for the first.
  let busy: Promise<unknown> = Promise.resolve();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://control');
    const reply = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
    if (req.headers.authorization !== `Bearer ${token}`) return reply(401, { error: 'unauthorized' });
    if (req.method !== 'POST' || url.pathname !== '/kube-apiserver/restart')
      return reply(404, { error: 'POST /kube-apiserver/restart?downMs=<ms>&kill=<bool>' });
    const downMs = Number(url.searchParams.get('downMs') ?? 0);
    if (!Number.isFinite(downMs) || downMs < 0 || downMs > 120_000)
      return reply(400, { error: 'downMs must be between 0 and 120000' });
    const kill = url.searchParams.get('kill') === 'true';
    const run = busy.then(async () => {
      const result = await plane.restartApiServer({ downMs, kill });
      afterRestart();
      return result;
    });
    busy = run.catch(() => undefined);
    run.then(
      (result) => reply(200, result),
      (err: unknown) => reply(500, { error: err instanceof Error ? err.message : String(err) }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    env: { controlUrl: `http://127.0.0.1:${port}`, controlToken: token },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
