// A small HTTP(S) client on node:http/node:https (Node 20's fetch cannot take a CA or skip
// verification per request): bearer/basic auth, TLS options, a per-request timeout and an
// AbortSignal, keep-alive agents released by close(). It never follows a redirect (a 3xx is
// returned as it is), and with an endpoint policy it connects only to addresses the policy allows,
// checked after DNS (src/net/endpoint-guard.ts).
import * as http from 'node:http';
import * as https from 'node:https';
import { checkBeforeLookup, checkedLookup } from '../net/endpoint-guard.js';
import type { EndpointPolicy } from '../net/endpoint-policy.js';

export interface HttpTls {
  /** PEM CA bundle trusted for the server's certificate (replaces the system CAs for this client). */
  ca?: string | Buffer;
  /** PEM client certificate and key, for servers that require mutual TLS. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Accept any server certificate (insecure; for tests and self-signed setups only). */
  insecureSkipVerify?: boolean;
  /** Name to verify the certificate against, when it differs from the address's host. */
  serverName?: string;
}

export type HttpAuth = { bearerToken: string } | { username: string; password: string };

export interface HttpClientOptions {
  tls?: HttpTls;
  auth?: HttpAuth;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
  /** Responses larger than this fail (default 64 MiB). */
  maxBodyBytes?: number;
  /** Where requests may go; without one, anywhere. */
  endpointPolicy?: EndpointPolicy;
}

export interface HttpResponse {
  status: number;
  contentType: string;
  body: string;
  location?: string;
}

/** The error a request fails with when the caller's signal aborts it. */
export class RequestAbortedError extends Error {
  override name = 'AbortError';
}

/** No complete answer within the request's timeout. */
export class RequestTimeoutError extends Error {
  override name = 'RequestTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`);
  }
}

/** The answer's body is larger than the client accepts. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  constructor(readonly maxBytes: number) {
    super(`response body larger than ${maxBytes} bytes`);
  }
}

export class HttpClient {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  private readonly httpsAgent: https.Agent;
  private readonly headers: Record<string, string>;
  private readonly maxBodyBytes: number;
  private readonly policy: EndpointPolicy | undefined;

  constructor(options: HttpClientOptions = {}) {
    const tls = options.tls ?? {};
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      maxSockets: 8,
      ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
      ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
      ...(tls.key !== undefined ? { key: tls.key } : {}),
      ...(tls.serverName !== undefined ? { servername: tls.serverName } : {}),
      rejectUnauthorized: !tls.insecureSkipVerify,
    });
    this.headers = { ...options.headers, ...authHeader(options.auth) };
    this.maxBodyBytes = options.maxBodyBytes ?? 64 * 1024 * 1024;
    this.policy = options.endpointPolicy;
  }

  /**
   * Sends one request. Resolves with any HTTP status; rejects on network errors, with
   * RequestTimeoutError, BodyTooLargeError, an EndpointDeniedError (nothing was sent) and with
   * RequestAbortedError when `signal` aborts.
   */
  request(
    method: 'GET' | 'POST',
    url: URL,
    options: { body?: string; headers?: Record<string, string>; timeoutMs: number; signal?: AbortSignal },
  ): Promise<HttpResponse> {
    const { signal, timeoutMs } = options;
    return new Promise<HttpResponse>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new RequestAbortedError('aborted'));
        return;
      }
      const isHttps = url.protocol === 'https:';
      if (!isHttps && url.protocol !== 'http:') {
        reject(new Error(`unsupported protocol ${url.protocol}`));
        return;
      }
      const headers: Record<string, string> = {
        accept: 'application/json',
        ...this.headers,
        ...options.headers,
      };
      if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
      const requestOptions: http.RequestOptions = {
        method,
        headers,
        agent: isHttps ? this.httpsAgent : this.httpAgent,
      };
      if (this.policy) {
        // The host is the one in the Consumer's address: redirects are never followed.
        const endpoint = { host: url.hostname, port: Number(url.port) || (isHttps ? 443 : 80) };
        try {
          checkBeforeLookup(this.policy, endpoint, endpoint.host);
        } catch (error) {
          reject(error as Error);
          return;
        }
        requestOptions.lookup = checkedLookup(this.policy, endpoint, endpoint.host);
      }
      const req = (isHttps ? https : http).request(url, requestOptions);
      let settled = false;
      const finish = (err: Error | undefined, res?: HttpResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) {
          req.destroy();
          reject(err);
        } else resolve(res!);
      };
      const onAbort = () => finish(new RequestAbortedError('aborted'));
      const timer = setTimeout(() => finish(new RequestTimeoutError(timeoutMs)), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => finish(err));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.maxBodyBytes) finish(new BodyTooLargeError(this.maxBodyBytes));
          else chunks.push(chunk);
        });
        res.on('error', (err) => finish(err));
        res.on('end', () =>
          finish(undefined, {
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString('utf8'),
            ...(res.headers.location ? { location: res.headers.location } : {}),
          }),
        );
      });
      req.end(options.body);
    });
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

function authHeader(auth: HttpAuth | undefined): Record<string, string> {
  if (!auth) return {};
  if ('bearerToken' in auth) return { authorization: `Bearer ${auth.bearerToken}` };
  const basic = Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64');
  return { authorization: `Basic ${basic}` };
}
