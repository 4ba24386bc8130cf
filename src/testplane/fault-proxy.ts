// A fault-injecting HTTP(S) reverse proxy for tests: it sits between a client (the operator) and
// a real component (the kube-apiserver, Prometheus) and forwards every request unchanged, except
// those a rule matches, which it answers itself, delays, rewrites or leaves hanging. It streams,
// so long-running watches pass through; it logs every request, so a test can count the client's
// lists, watches and writes as they happened on the wire.
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo, type Socket } from 'node:net';

export interface ProxiedRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: URLSearchParams;
  /** A Kubernetes watch (`?watch=true` or `1`). */
  watch: boolean;
  /** The request body (requests are read whole before a rule is chosen). */
  body: string;
}

export type FaultAction =
  /** Answer with this status and body instead of forwarding. */
  | { kind: 'respond'; status: number; body: string; contentType?: string }
  /**
   * Answer a watch with 200 and one `ERROR` event carrying a Status with this code (410 is what
   * the API server sends for an expired resourceVersion), then end the stream.
   */
  | { kind: 'watch-error'; code: number; reason?: string; message?: string }
  /** Forward after `ms`; with `chunkMs`, every chunk of the answer is held that long too. */
  | { kind: 'delay'; ms: number; chunkMs?: number }
  /** Forward, and replace the answer's body with `rewrite(body, status)`. Buffers the answer. */
  | { kind: 'rewrite'; rewrite: (body: string, status: number) => string; status?: number }
  /** Accept the request and never answer (until the proxy stops or cuts connections). */
  | { kind: 'hang' }
  /** Close the connection without an answer. */
  | { kind: 'reset' };

export interface FaultRule {
  /** Which requests the rule takes; all when absent. */
  match?: (req: ProxiedRequest) => boolean;
  action: FaultAction;
  /** How many requests it takes before it is spent; unlimited when absent. */
  times?: number;
  /** For the log. */
  name?: string;
}

export interface ProxyLogEntry extends Omit<ProxiedRequest, 'body'> {
  at: number;
  /** The status the client got (0 for hang/reset, or before the answer started). */
  status: number;
  /** The rule that took the request, if any. */
  fault?: string;
}

export interface FaultProxyOptions {
  /** Where requests go, e.g. `https://127.0.0.1:6443` or `http://127.0.0.1:9090`. */
  upstream: string;
  /** CA for an https upstream. */
  upstreamCa?: Buffer | string;
  /** Serve https with this certificate and key (e.g. the API server's own), else plain http. */
  tls?: { cert: Buffer | string; key: Buffer | string };
  /** Port to listen on (default: a free one). Kept across stop()/start(). */
  port?: number;
  /** Loopback address to listen on (default 127.0.0.1). */
  host?: string;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

export class FaultProxy {
  readonly log: ProxyLogEntry[] = [];
  private rules: Array<FaultRule & { left: number }> = [];
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly upstreamRequests = new Set<http.ClientRequest>();
  private readonly upstream: URL;
  private readonly agent: http.Agent;
  port: number;

  constructor(private readonly options: FaultProxyOptions) {
    this.upstream = new URL(options.upstream);
    this.port = options.port ?? 0;
    this.agent =
      this.upstream.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, ...(options.upstreamCa ? { ca: options.upstreamCa } : {}) })
        : new http.Agent({ keepAlive: true });
  }

  get url(): string {
    return `${this.options.tls ? 'https' : 'http'}://${this.options.host ?? '127.0.0.1'}:${this.port}`;
  }

  async start(): Promise<void> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => this.handle(req, res);
    const server = this.options.tls
      ? https.createServer({ cert: this.options.tls.cert, key: this.options.tls.key }, handler)
      : http.createServer(handler);
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    // TLS servers report the raw socket under secureConnection as well; both land in the set.
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.options.host ?? '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and drops every connection; start() listens again on the same port. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.cutConnections();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  /** Breaks every open connection (watches included), as a network blip would. */
  cutConnections(): void {
    for (const req of this.upstreamRequests) req.destroy();
    this.upstreamRequests.clear();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  /** Adds a rule; rules are tried in the order they were added. Returns a function removing it. */
  add(rule: FaultRule): () => void {
    const entry = { ...rule, left: rule.times ?? Number.POSITIVE_INFINITY };
    this.rules.push(entry);
    return () => {
      this.rules = this.rules.filter((r) => r !== entry);
    };
  }

  clearRules(): void {
    this.rules = [];
  }

  /** Requests logged since `since` (a log length taken before) that `match` takes. */
  count(match: (e: ProxyLogEntry) => boolean, since = 0): number {
    return this.log.slice(since).filter(match).length;
  }

  close(): Promise<void> {
    this.agent.destroy();
    return this.stop();
  }

  private take(req: ProxiedRequest): (FaultRule & { left: number }) | undefined {
    const rule = this.rules.find((r) => r.left > 0 && (r.match?.(req) ?? true));
    if (rule) rule.left--;
    return rule;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => this.decide(req, res, Buffer.concat(chunks)));
  }

  private decide(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const watchParam = url.searchParams.get('watch');
    const info: ProxiedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      watch: watchParam === 'true' || watchParam === '1',
      body: body.toString('utf8'),
    };
    const rule = this.take(info);
    const entry: ProxyLogEntry = {
      method: info.method,
      path: info.path,
      query: info.query,
      watch: info.watch,
      at: Date.now(),
      status: 0,
      ...(rule ? { fault: rule.name ?? rule.action.kind } : {}),
    };
    this.log.push(entry);
    const answer = (status: number, headers: http.OutgoingHttpHeaders, body?: string) => {
      entry.status = status;
      res.writeHead(status, headers).end(body);
    };
    const action = rule?.action;
    switch (action?.kind) {
      case 'respond':
        return answer(
          action.status,
          { 'content-type': action.contentType ?? 'application/json' },
          action.body,
        );
      case 'watch-error': {
        const status = {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: action.message ?? `fault proxy: watch ended with ${action.code}`,
          reason: action.reason ?? (action.code === 410 ? 'Expired' : 'InternalError'),
          code: action.code,
        };
        return answer(
          200,
          { 'content-type': 'application/json' },
          `${JSON.stringify({ type: 'ERROR', object: status })}\n`,
        );
      }
      case 'hang':
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'delay':
        setTimeout(() => this.forward(req, res, body, entry, undefined, action.chunkMs), action.ms);
        return;
      case 'rewrite':
        return this.forward(req, res, body, entry, action);
      default:
        return this.forward(req, res, body, entry);
    }
  }

  private forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer,
    entry: ProxyLogEntry,
    rewrite?: Extract<FaultAction, { kind: 'rewrite' }>,
    chunkMs?: number,
  ): void {
    if (res.destroyed) return;
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!HOP_BY_HOP.has(name) && name !== 'host' && value !== undefined) headers[name] = value;
    }
    headers.host = this.upstream.host;
    if (body.length > 0) headers['content-length'] = String(body.length);
    const client = this.upstream.protocol === 'https:' ? https : http;
    const upstreamReq = client.request(
      {
        protocol: this.upstream.protocol,
        hostname: this.upstream.hostname,
        port: this.upstream.port,
        method: req.method,
        path: `${this.upstream.pathname.replace(/\/$/, '')}${req.url ?? '/'}`,
        headers,
        agent: this.agent,
      },
      (upstreamRes) => {
        const status = upstreamRes.statusCode ?? 502;
        const outHeaders: http.OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(upstreamRes.headers)) {
          if (!HOP_BY_HOP.has(name) && value !== undefined) outHeaders[name] = value;
        }
        if (rewrite) {
          const chunks: Buffer[] = [];
          upstreamRes.on('data', (c: Buffer) => chunks.push(c));
          upstreamRes.on('end', () => {
            this.upstreamRequests.delete(upstreamReq);
            const rewritten = rewrite.rewrite(Buffer.concat(chunks).toString('utf8'), status);
            delete outHeaders['content-length'];
            delete outHeaders['content-encoding'];
            entry.status = rewrite.status ?? status;
            res.writeHead(entry.status, outHeaders).end(rewritten);
          });
          return;
        }
        entry.status = status;
        res.writeHead(status, outHeaders);
        res.flushHeaders();
        if (chunkMs) {
          // Hold each chunk, keeping their order.
          let chain = Promise.resolve();
          upstreamRes.on('data', (c: Buffer) => {
            chain = chain.then(
              () =>
                new Promise<void>((r) =>
                  setTimeout(() => (res.destroyed ? r() : res.write(c, () => r())), chunkMs),
                ),
            );
          });
          upstreamRes.on('end', () => void chain.then(() => res.end()));
        } else {
          upstreamRes.on('data', (c: Buffer) => res.write(c));
          upstreamRes.on('end', () => res.end());
        }
        upstreamRes.on('error', () => res.destroy());
        upstreamRes.on('close', () => this.upstreamRequests.delete(upstreamReq));
      },
    );
    this.upstreamRequests.add(upstreamReq);
    upstreamReq.on('error', () => {
      this.upstreamRequests.delete(upstreamReq);
      // The upstream is down or went away: the client sees what a dead server gives, a broken
      // connection.
      res.destroy();
      req.socket.destroy();
    });
    res.on('close', () => {
      if (!upstreamReq.destroyed && !res.writableFinished) upstreamReq.destroy();
    });
    upstreamReq.end(body);
  }
}

/** A Kubernetes API error answer in the API server's own format. */
export function kubeStatus(code: number, reason: string, message: string): string {
  return JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  });
}

/**
 * A TCP endpoint in front of a real server (e.g. a Kafka broker) that forwards, holds every
 * connection open without a byte in either direction (a hung server), or listens on nothing at
 * all (a server that is down). The port stays the same across modes.
 */
export type TcpMode = 'forward' | 'blackhole' | 'down';

export class TcpFaultSwitch {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly upstream: { host: string; port: number },
    private current: TcpMode = 'forward',
    /** Loopback address to listen on. */
    private readonly host = '127.0.0.1',
  ) {}

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  get mode(): TcpMode {
    return this.current;
  }

  /** Reserves the port (listening, unless the mode is `down`). */
  async start(): Promise<void> {
    await this.listen();
    if (this.current === 'down') await this.unlisten();
  }

  /** Changes the mode; connections made under the previous mode are dropped. */
  async set(mode: TcpMode): Promise<void> {
    this.current = mode;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (mode === 'down') await this.unlisten();
    else if (!this.server) await this.listen();
  }

  async stop(): Promise<void> {
    await this.set('down');
  }

  private async listen(): Promise<void> {
    const server = net.createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => undefined);
      if (this.current !== 'forward') return; // blackhole: accept, never answer
      const upstream = net.connect(this.upstream.port, this.upstream.host);
      this.sockets.add(upstream);
      upstream.on('close', () => this.sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  private async unlisten(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}
