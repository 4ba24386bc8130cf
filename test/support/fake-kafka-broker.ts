// A stand-in Kafka bootstrap broker that answers just enough of the protocol (ApiVersions v1 and
// Metadata v1, written by hand below) to advertise another broker, chosen by the test, as the
// leader of every partition: a Consumer whose bootstrap is allowed but whose brokers are not. Real
// brokers advertise what their configuration says; this one lets a test aim the advertised
// address at a server that counts connections.
import net, { type AddressInfo } from 'node:net';

const API_VERSIONS = 18;
const METADATA = 3;
const LIST_OFFSETS = 2;
const UNSUPPORTED_VERSION = 35;

function string(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(2);
  length.writeInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

const int16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

export class FakeKafkaBroker {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  /** The requests seen, as `apiKey/version`. */
  readonly requests: string[] = [];
  port = 0;

  constructor(
    private readonly host: string,
    /** The broker every partition's leader is said to be on. */
    private readonly advertised: { host: string; port: number },
    private readonly partitions = 1,
  ) {}

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  async start(): Promise<void> {
    const server = net.createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve) => server.listen(0, this.host, resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => (this.server ? this.server.close(r) : r(undefined)));
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const size = pending.readInt32BE(0);
        const frame = pending.subarray(4, 4 + size);
        pending = pending.subarray(4 + size);
        const body = this.answer(frame);
        if (body) socket.write(Buffer.concat([int32(body.length), body]));
      }
    });
  }

  /** The response (correlation id and body) to one request, or undefined to stay silent. */
  private answer(frame: Buffer): Buffer | undefined {
    const apiKey = frame.readInt16BE(0);
    const version = frame.readInt16BE(2);
    const correlation = int32(frame.readInt32BE(4));
    this.requests.push(`${apiKey}/${version}`);
    const clientIdLength = frame.readInt16BE(8);
    let offset = 10 + Math.max(0, clientIdLength);
    if (apiKey === API_VERSIONS) {
      // v3 and up: answer as old brokers do, in the v0 frame, and the client falls back to v1.
      if (version >= 3) return Buffer.concat([correlation, int16(UNSUPPORTED_VERSION)]);
      const apis = [
        [API_VERSIONS, 0, 1],
        [METADATA, 1, 1],
        [LIST_OFFSETS, 1, 1],
      ];
      return Buffer.concat([
        correlation,
        int16(0),
        int32(apis.length),
        ...apis.flatMap(([key, min, max]) => [int16(key!), int16(min!), int16(max!)]),
        int32(0),
      ]);
    }
    if (apiKey === METADATA && version === 1) {
      const count = frame.readInt32BE(offset);
      offset += 4;
      const topics: string[] = [];
      for (let i = 0; i < count; i++) {
        const length = frame.readInt16BE(offset);
        topics.push(frame.subarray(offset + 2, offset + 2 + length).toString('utf8'));
        offset += 2 + length;
      }
      const partition = (index: number) =>
        Buffer.concat([int16(0), int32(index), int32(1), int32(1), int32(1), int32(1), int32(1)]);
      return Buffer.concat([
        correlation,
        int32(1), // brokers
        int32(1),
        string(this.advertised.host),
        int32(this.advertised.port),
        int16(-1), // rack: null
        int32(1), // controller id
        int32(topics.length),
        ...topics.map((name) =>
          Buffer.concat([
            int16(0),
            string(name),
            Buffer.from([0]), // not internal
            int32(this.partitions),
            ...Array.from({ length: this.partitions }, (_, p) => partition(p)),
          ]),
        ),
      ]);
    }
    return undefined;
  }
}
