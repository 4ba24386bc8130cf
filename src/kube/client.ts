// Requests to the Kubernetes API server over node:https: JSON in and out, authentication from a
// ClusterAccess, a deadline on every request, an idle deadline on every watch, and a report of each
// request (method, host, status, duration) for the operator's rest_client_* metrics. Written here
// rather than taken from @kubernetes/client-node, whose KubeConfig alone loads its whole generated
// API (tens of MiB resident); the operator needs a handful of paths, not every kind.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { isAbsolute, join } from 'node:path';
import { toClusterAccess, type ClusterAccess, type ClusterSource } from './config.js';
import { proxyFromEnvironment } from './proxy.js';

/** An answer with `code` (undefined: none, the request failed) `seconds` after the request began. */
export type ApiRequestReport = (
  method: string,
  host: string,
  code: number | undefined,
  seconds: number,
) => void;

export interface KubeClientOptions {
  /** Whole request, answer included (default 30 s). Not used for watches, which stream. */
  requestMs?: number;
  /** A watch that receives nothing for this long, its answer's headers included (default 90 s). */
  watchIdleMs?: number;
  report?: ApiRequestReport;
  /** How often a token file is read again (default 60 s, as client-go). */
  tokenFileRereadMs?: number;
  /** Where HTTPS_PROXY and the like are read when the access names no proxy (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export const DEFAULT_REQUEST_MS = 30_000;
/**
 * The API server sends a quiet watch a bookmark about once a minute (its watch cache's bookmark
 * frequency), not more often: a shorter deadline ended every quiet watch (Consumers, HPAs, a
 * namespace's pods once they run) and listed everything again.
 */
export const DEFAULT_WATCH_IDLE_MS = 90_000;

/** The API server answered with an error status; `body` is its Status object (or text). */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    readonly body: unknown,
    method: string,
    path: string,
  ) {
    const message =
      body && typeof body === 'object' && 'message' in body
        ? String((body as { message: unknown }).message)
        : '';
    super(`${method} ${path}: HTTP ${code}${message ? `: ${message}` : ''}`);
    this.name = 'KubeApiError';
  }
}

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

const PATCH_CONTENT_TYPE: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  accept?: string;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

const TOKEN_FILE_REREAD_MS = 60_000;

interface Credential {
  token?: string;
  cert?: Buffer;
  key?: Buffer;
  /** Epoch ms after which the credential must be fetched again (exec plugins). */
  until: number;
}

const timeoutError = (what: string, ms: number) =>
  new DOMException(`${what} within ${ms} ms`, 'TimeoutError');

type TlsOptions = Pick<https.AgentOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized' | 'servername'>;

export class KubeClient {
  readonly host: string;
  /** The proxy every connection goes through: the kubeconfig's proxy-url, else the environment's. */
  readonly proxyUrl: string | undefined;
  private readonly url: URL;
  private readonly transport: typeof http | typeof https;
  private agents = new Map<string, http.Agent>();
  private proxy: Promise<http.Agent> | undefined;
  private fileToken: { token: string; readAt: number } | undefined;
  private execCredential: Promise<Credential> | undefined;

  constructor(
    readonly access: ClusterAccess,
    readonly options: KubeClientOptions = {},
  ) {
    this.url = new URL(access.server);
    this.host = this.url.host;
    this.transport = this.url.protocol === 'http:' ? http : https;
    this.proxyUrl = access.proxyUrl ?? proxyFromEnvironment(access.server, options.env ?? process.env);
  }

  /** A client of a kubeconfig held elsewhere (e.g. client-node's KubeConfig) or of a ClusterAccess. */
  static of(source: ClusterSource, options: KubeClientOptions = {}): KubeClient {
    return new KubeClient(toClusterAccess(source), options);
  }

  /** The same cluster and credentials with other options (shares nothing mutable). */
  with(options: KubeClientOptions): KubeClient {
    return new KubeClient(this.access, { ...this.options, ...options });
  }

  get<T>(path: string, query?: Query, accept?: string): Promise<T> {
    return this.request<T>('GET', path, { ...(query ? { query } : {}), ...(accept ? { accept } : {}) });
  }

  create<T>(path: string, body: unknown, query?: Query): Promise<T> {
    return this.request<T>('POST', path, { body, ...(query ? { query } : {}) });
  }

  replace<T>(path: string, body: unknown, query?: Query): Promise<T> {
    return this.request<T>('PUT', path, { body, ...(query ? { query } : {}) });
  }

  patch<T>(path: string, body: unknown, type: PatchType, query?: Query): Promise<T> {
    return this.request<T>('PATCH', path, {
      body,
      contentType: PATCH_CONTENT_TYPE[type],
      ...(query ? { query } : {}),
    });
  }

  delete<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('DELETE', path, body === undefined ? {} : { body });
  }

  /**
   * One request; resolves with the parsed answer, rejects with a KubeApiError for an error status.
   * A 401 with an exec plugin's credential runs the plugin again and retries once (as client-go).
   */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    try {
      return await this.send<T>(method, path, options);
    } catch (error) {
      if (!(error instanceof KubeApiError && error.code === 401 && this.access.exec)) throw error;
      this.execCredential = undefined;
      return this.send<T>(method, path, options);
    }
  }

  private async send<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    const requestMs = this.options.requestMs ?? DEFAULT_REQUEST_MS;
    const started = performance.now();
    let reported = false;
    const report = (code: number | undefined) => {
      if (reported) return;
      reported = true;
      this.options.report?.(method, this.host, code, (performance.now() - started) / 1000);
    };
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = await this.open(method, path, options.query, {
      accept: options.accept ?? 'application/json',
      ...(body !== undefined ? { 'content-type': options.contentType ?? 'application/json' } : {}),
      ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
    });
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => req.destroy(timeoutError('no answer from the API server', requestMs)),
        requestMs,
      );
      req.on('error', (error) => {
        clearTimeout(timer);
        report(undefined);
        reject(error);
      });
      req.on('response', (res) => {
        report(res.statusCode);
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => (clearTimeout(timer), reject(error)));
        res.on('end', () => {
          clearTimeout(timer);
          const parsed = parseAnswer(chunks);
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(parsed as T);
          else reject(new KubeApiError(status, parsed, method, path));
        });
      });
      req.end(body);
    });
  }

  /**
   * Streams a watch: `onEvent` for each event until the server ends the watch (resolves), the
   * signal aborts (resolves), or an error (rejects: an error status as KubeApiError, nothing
   * received for the idle deadline as a TimeoutError).
   */
  async watch<T>(
    path: string,
    query: Query,
    onEvent: (event: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const idleMs = this.options.watchIdleMs ?? DEFAULT_WATCH_IDLE_MS;
    const started = performance.now();
    if (signal.aborted) return;
    const req = await this.open('GET', path, { ...query, watch: true }, { accept: 'application/json' });
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (error?: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (error === undefined || signal.aborted) resolve();
        else reject(error);
      };
      const onAbort = () => {
        req.destroy();
        finish();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      let timer: NodeJS.Timeout | undefined;
      /** Restarts the idle deadline. */
      const alive = () => {
        clearTimeout(timer);
        timer = setTimeout(() => req.destroy(timeoutError('nothing received on the watch', idleMs)), idleMs);
      };
      alive();
      let answered = false;
      req.on('error', (error) => {
        if (!answered)
          this.options.report?.('GET', this.host, undefined, (performance.now() - started) / 1000);
        finish(error);
      });
      req.on('response', (res) => {
        answered = true;
        const status = res.statusCode ?? 0;
        this.options.report?.('GET', this.host, status, (performance.now() - started) / 1000);
        alive();
        let pending = '';
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          alive();
          if (status !== 200) return void chunks.push(chunk);
          pending += chunk.toString('utf8');
          let nl: number;
          while ((nl = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (!line) continue;
            try {
              onEvent(JSON.parse(line) as WatchEvent<T>);
            } catch (error) {
              req.destroy();
              return finish(error);
            }
          }
        });
        res.on('error', (error) => finish(error));
        res.on('end', () => {
          if (status === 200) return finish();
          finish(new KubeApiError(status, parseAnswer(chunks), 'GET', path));
        });
      });
      req.end();
    });
  }

  private async open(
    method: string,
    path: string,
    query: Query | undefined,
    headers: Record<string, string>,
  ): Promise<http.ClientRequest> {
    const url = new URL(this.url.pathname.replace(/\/$/, '') + path, this.url);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const credential = await this.credential();
    const all: Record<string, string> = { 'user-agent': 'konsumerator', ...headers };
    if (credential.token) all.authorization = `Bearer ${credential.token}`;
    else if (this.access.username !== undefined)
      all.authorization = `Basic ${Buffer.from(`${this.access.username}:${this.access.password ?? ''}`).toString('base64')}`;
    if (this.access.impersonate) all['impersonate-user'] = this.access.impersonate;
    const { proxyUrl } = this;
    const tls = this.tlsOptions(credential);
    const agent = proxyUrl ? await this.proxyAgent(proxyUrl) : this.agent(tls);
    // Through a proxy, the TLS options travel with the request: the proxy agent opens the tunnel,
    // then starts TLS to the API server with the request's options.
    const req = this.transport.request(url, {
      method,
      headers: all,
      agent,
      ...(proxyUrl ? tls : {}),
    });
    // A proxy's refusal would otherwise read as the API server's own answer (a 403 as Forbidden).
    if (proxyUrl)
      req.once('proxyConnect', ({ statusCode }: { statusCode: number }) => {
        if (statusCode !== 200)
          req.destroy(
            new Error(
              `the proxy ${new URL(proxyUrl).host} refused the tunnel to ${this.host}: HTTP ${statusCode}`,
            ),
          );
      });
    return req;
  }

  /** How to reach the API server over TLS with this credential (nothing for an http server). */
  private tlsOptions(credential: Credential): TlsOptions {
    if (this.transport === http) return {};
    const cert = credential.cert ?? this.access.clientCert;
    const key = credential.key ?? this.access.clientKey;
    return {
      ...(this.access.ca ? { ca: this.access.ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      rejectUnauthorized: !this.access.insecureSkipTlsVerify,
      ...(this.access.tlsServerName ? { servername: this.access.tlsServerName } : {}),
    };
  }

  /**
   * One keep-alive agent per client certificate (an exec plugin may hand out a new one). Its TLS
   * context (the CA and the client certificate, parsed) is made once and shared by its connections:
   * left to Node, every connection (each watch holds one) parses and keeps its own copy.
   */
  private agent(options: TlsOptions): http.Agent {
    const { ca, cert, key, ...check } = options;
    const id = `${cert?.toString('base64') ?? ''}|${key?.length ?? 0}`;
    let agent = this.agents.get(id);
    if (!agent) {
      if (this.agents.size > 4) this.agents.clear();
      agent =
        this.transport === http
          ? new http.Agent({ keepAlive: true })
          : new https.Agent({
              keepAlive: true,
              secureContext: tls.createSecureContext({
                ...(ca ? { ca } : {}),
                ...(cert ? { cert } : {}),
                ...(key ? { key } : {}),
              }),
              ...check,
            });
      this.agents.set(id, agent);
    }
    return agent;
  }

  /**
   * The agent of the proxy: a CONNECT tunnel through an http(s) proxy, or socks5. Loaded on first
   * use, so a client without a proxy never loads either library. socks5 hands the API server's
   * name to the proxy to resolve, as Go's SOCKS dialer (kubectl's) does: a private cluster name is
   * often known only on the far side of the proxy.
   */
  private proxyAgent(proxyUrl: string): Promise<http.Agent> {
    this.proxy ??= proxyUrl.startsWith('socks')
      ? import('socks-proxy-agent').then(
          ({ SocksProxyAgent }) =>
            new SocksProxyAgent(proxyUrl.replace(/^socks5:/, 'socks5h:'), { keepAlive: true }),
        )
      : import('https-proxy-agent').then(
          ({ HttpsProxyAgent }) => new HttpsProxyAgent(proxyUrl, { keepAlive: true }),
        );
    return this.proxy;
  }

  private async credential(): Promise<Credential> {
    const { token, tokenFile, exec } = this.access;
    if (token) return { token, until: Infinity };
    if (tokenFile) {
      const now = Date.now();
      const reread = this.options.tokenFileRereadMs ?? TOKEN_FILE_REREAD_MS;
      if (!this.fileToken || now - this.fileToken.readAt >= reread)
        this.fileToken = { token: readFileSync(tokenFile, 'utf8').trim(), readAt: now };
      return { token: this.fileToken.token, until: Infinity };
    }
    if (exec) {
      const current = this.execCredential ? await this.execCredential.catch(() => undefined) : undefined;
      if (current && current.until > Date.now()) return current;
      this.execCredential = runExecPlugin(exec);
      return this.execCredential;
    }
    return { until: Infinity };
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
    void this.proxy?.then((agent) => agent.destroy()).catch(() => undefined);
    this.proxy = undefined;
  }
}

/** An answer's body: its JSON, else its text (an empty body: undefined). */
function parseAnswer(chunks: Buffer[]): unknown {
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Runs a credential plugin as kubectl does and reads its ExecCredential status. */
function runExecPlugin(exec: NonNullable<ClusterAccess['exec']>): Promise<Credential> {
  const command =
    exec.command.includes('/') && !isAbsolute(exec.command) ? join(exec.dir, exec.command) : exec.command;
  const info = JSON.stringify({
    apiVersion: exec.apiVersion,
    kind: 'ExecCredential',
    spec: { interactive: false },
  });
  return new Promise((resolve, reject) => {
    execFile(
      command,
      exec.args,
      {
        env: { ...process.env, ...exec.env, KUBERNETES_EXEC_INFO: info },
        timeout: 60_000,
        maxBuffer: 1 << 20,
      },
      (error, stdout) => {
        if (error) return reject(new Error(`credential plugin ${exec.command} failed: ${error.message}`));
        try {
          const status = (JSON.parse(stdout) as { status?: Record<string, string> }).status ?? {};
          const expires = status.expirationTimestamp ? Date.parse(status.expirationTimestamp) : Infinity;
          resolve({
            ...(status.token ? { token: status.token } : {}),
            ...(status.clientCertificateData ? { cert: Buffer.from(status.clientCertificateData) } : {}),
            ...(status.clientKeyData ? { key: Buffer.from(status.clientKeyData) } : {}),
            // Fetched again a little before it expires.
            until: expires - 10_000,
          });
        } catch (e) {
          reject(new Error(`credential plugin ${exec.command} printed no ExecCredential: ${String(e)}`));
        }
      },
    );
  });
}

/** `YYYY-MM-DDTHH:MM:SS.ssssssZ`: the API server's MicroTime wants six fraction digits. */
export function microTime(date: Date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
