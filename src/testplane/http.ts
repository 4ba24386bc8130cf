import https from 'node:https';
import http from 'node:http';

const REQUEST_TIMEOUT_MS = 3_000;

export interface HttpResult {
  status: number;
  body: string;
}

/**
 * GET over http or https. With `ca` the server certificate is verified against it; without it an
 * https server's self-signed certificate is accepted (KCM and scheduler generate their own).
 */
export function httpGet(url: string, ca?: Buffer): Promise<HttpResult> {
  const client = url.startsWith('https:') ? https : http;
  const tls = url.startsWith('https:') ? (ca ? { ca } : { rejectUnauthorized: false }) : {};
  return new Promise((resolve, reject) => {
    const req = client.get(url, { ...tls, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
}

/** Resolves `true` once `url` answers 200, `undefined` otherwise (for waitFor). */
export async function isOk(url: string, ca?: Buffer): Promise<true | undefined> {
  const { status } = await httpGet(url, ca);
  return status === 200 ? true : undefined;
}
