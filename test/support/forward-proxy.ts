// Forward proxies for tests, on a loopback port: an HTTP proxy that tunnels CONNECT requests and
// a SOCKS5 proxy (RFC 1928, CONNECT without authentication). Each records the `host:port` of every
// tunnel asked for, and resolves names through `hosts` first, so a test can give the API server a
// name only the proxy knows: a client that bypassed the proxy could not connect at all.
import http from 'node:http';
import net from 'node:net';
import { listenLocally } from './local-server.js';

export interface ForwardProxy {
  /** `http://127.0.0.1:<port>` or `socks5://127.0.0.1:<port>`. */
  url: string;
  /** `host:port` of each tunnel asked for, in order (refused ones too). */
  tunnels: string[];
  close: () => Promise<void>;
}

export interface ConnectProxy extends ForwardProxy {
  /** The status every CONNECT is answered with instead of a tunnel; settable, undefined: tunnel. */
  refuse: number | undefined;
}

export interface ForwardProxyOptions {
  /** Names the proxy resolves itself (e.g. `{ 'kubernetes.default.svc': '127.0.0.1' }`). */
  hosts?: Record<string, string>;
  /** The http proxy answers every CONNECT with this status (e.g. 407) instead of tunnelling. */
  refuse?: number;
}

/** Pipes two sockets both ways; an error on either just ends the pair. */
function splice(a: net.Socket, b: net.Socket): void {
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.pipe(b);
  b.pipe(a);
}

/** Tracks sockets so that close() ends tunnels still open (a watch holds one). */
function socketSet() {
  const sockets = new Set<net.Socket>();
  return {
    add: (s: net.Socket) => (sockets.add(s), s.once('close', () => sockets.delete(s))),
    destroyAll: () => sockets.forEach((s) => s.destroy()),
  };
}

/** An HTTP proxy that tunnels CONNECT requests (plain requests: 405). */
export async function connectProxy(options: ForwardProxyOptions = {}): Promise<ConnectProxy> {
  const tunnels: string[] = [];
  const sockets = socketSet();
  const server = http.createServer((_req, res) => void res.writeHead(405).end());
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    sockets.add(client);
    client.on('error', () => undefined);
    const target = req.url ?? '';
    tunnels.push(target);
    if (proxy.refuse)
      return void client.end(
        `HTTP/1.1 ${proxy.refuse} Refused\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n`,
      );
    const at = target.lastIndexOf(':');
    const host = target.slice(0, at).replace(/^\[(.*)\]$/, '$1');
    const upstream = net.connect(Number(target.slice(at + 1)), options.hosts?.[host] ?? host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      splice(client, upstream);
    });
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
  });
  const local = await listenLocally(server);
  const proxy: ConnectProxy = {
    url: local.url,
    tunnels,
    refuse: options.refuse,
    close: async () => {
      sockets.destroyAll();
      await local.close();
    },
  };
  return proxy;
}

/** A SOCKS5 proxy without authentication: CONNECT to an IPv4 address or a name. */
export async function socks5Proxy(options: ForwardProxyOptions = {}): Promise<ForwardProxy> {
  const tunnels: string[] = [];
  const sockets = socketSet();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('error', () => undefined);
    client.once('data', () => {
      client.write(Buffer.from([5, 0])); // version 5, no authentication
      client.once('data', (req: Buffer) => {
        // VER CMD RSV ATYP ADDR PORT; ATYP 1: four address bytes, 3: a length byte and a name.
        const [host, rest] =
          req[3] === 3
            ? [req.subarray(5, 5 + req[4]!).toString('latin1'), req.subarray(5 + req[4]!)]
            : [[...req.subarray(4, 8)].join('.'), req.subarray(8)];
        const port = rest.readUInt16BE(0);
        tunnels.push(`${host}:${port}`);
        const upstream = net.connect(port, options.hosts?.[host] ?? host, () => {
          client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
          splice(client, upstream);
        });
        sockets.add(upstream);
        upstream.on('error', () => client.destroy());
      });
    });
  });
  const local = await listenLocally(server);
  return {
    url: `socks5://127.0.0.1:${local.port}`,
    tunnels,
    close: async () => {
      sockets.destroyAll();
      await local.close();
    },
  };
}
