// Small servers the unit tests stand up on a loopback address: listening on a free port with a
// close that drops open keep-alive connections, a Prometheus vector answer, and a self-signed
// certificate made with the openssl command line.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type http from 'node:http';
import type https from 'node:https';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LocalServer {
  /** `http://127.0.0.1:<port>` (https for an https server). */
  url: string;
  port: number;
  close: () => Promise<void>;
}

/** Listens on a free port of `host`; `close` also ends idle and active connections. */
export async function listenLocally(
  server: http.Server | https.Server | net.Server,
  host = '127.0.0.1',
): Promise<LocalServer> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as net.AddressInfo).port;
  const scheme = isTls(server) ? 'https' : 'http';
  return {
    url: `${scheme}://${host}:${port}`,
    port,
    close: async () => {
      if ('closeAllConnections' in server) server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// An https.Server is a tls.Server: it has setSecureContext, a plain http.Server does not.
const isTls = (server: object) => 'setSecureContext' in server;

/** A Prometheus instant-query answer: one series per `[labels, value]`, stamped now. */
export function prometheusVector(series: [Record<string, string>, string][]): string {
  return JSON.stringify({
    status: 'success',
    data: {
      resultType: 'vector',
      result: series.map(([metric, value]) => ({ metric, value: [Date.now() / 1000, value] })),
    },
  });
}

/** Answers with `prometheusVector` of partition 0 = `value`. */
export function answerPartitionZero(res: http.ServerResponse, value = '1'): void {
  res
    .writeHead(200, { 'content-type': 'application/json' })
    .end(prometheusVector([[{ partition: '0' }, value]]));
}

/** A self-signed certificate for `name` (its subject and only DNS name), valid for a day. */
export function selfSignedCertificate(name: string): { cert: Buffer; key: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'cert-'));
  try {
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`],
        ...['-addext', `subjectAltName=DNS:${name}`],
        ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      ],
      { stdio: 'ignore' },
    );
    return { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
