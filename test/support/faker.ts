// A stand-in for the original's "faker" exporter: per-partition production and consumption
// offsets (gauges `konsumerator_messages_production_offset` and `..._consumption_offset`) that
// advance at rates a test sets, served on 127.0.0.1 and registered with the test plane's
// Prometheus through a file_sd target.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testEnv, waitFor } from './env.js';

export interface PartitionRates {
  production: number;
  consumption: number;
}

export class FakeExporter {
  readonly job = `faker-${randomBytes(3).toString('hex')}`;
  private readonly produced: number[];
  private readonly consumed: number[];
  private rates: PartitionRates[];
  private readonly timer: NodeJS.Timeout;
  private readonly server: http.Server;
  private sdFile: string | undefined;
  private last = Date.now();

  constructor(rates: PartitionRates[]) {
    this.rates = rates.map((r) => ({ ...r }));
    this.produced = rates.map(() => 1_000_000);
    this.consumed = rates.map(() => 1_000_000);
    this.timer = setInterval(() => this.advance(), 100);
    this.server = http.createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      this.advance();
      const lines = [
        '# TYPE konsumerator_messages_production_offset gauge',
        ...this.produced.map(
          (v, p) => `konsumerator_messages_production_offset{partition="${p}"} ${Math.floor(v)}`,
        ),
        '# TYPE konsumerator_messages_consumption_offset gauge',
        ...this.consumed.map(
          (v, p) => `konsumerator_messages_consumption_offset{partition="${p}"} ${Math.floor(v)}`,
        ),
      ];
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(`${lines.join('\n')}\n`);
    });
  }

  /** Changes a partition's rates from now on. Consumption never passes production. */
  set(partition: number, rates: Partial<PartitionRates>): void {
    this.advance();
    this.rates[partition] = { ...this.rates[partition]!, ...rates };
  }

  /**
   * The three queries of a Consumer reading this exporter through Prometheus: the offsets'
   * difference, and production and consumption as rates over `window`.
   */
  queries(window = '10s') {
    const sel = `{job="${this.job}"}`;
    const query = (q: string) => ({ query: q, partitionLabel: 'partition' });
    return {
      offset: query(
        `max(konsumerator_messages_production_offset${sel}) by (partition) - max(konsumerator_messages_consumption_offset${sel}) by (partition)`,
      ),
      production: query(`sum(rate(konsumerator_messages_production_offset${sel}[${window}])) by (partition)`),
      consumption: query(
        `sum(rate(konsumerator_messages_consumption_offset${sel}[${window}])) by (partition)`,
      ),
    };
  }

  behind(partition: number): number {
    return Math.floor(this.produced[partition]!) - Math.floor(this.consumed[partition]!);
  }

  private advance(): void {
    const now = Date.now();
    const seconds = (now - this.last) / 1000;
    this.last = now;
    this.rates.forEach((r, p) => {
      this.produced[p]! += r.production * seconds;
      this.consumed[p] = Math.min(this.produced[p]!, this.consumed[p]! + r.consumption * seconds);
    });
  }

  /** Starts serving and waits until Prometheus scrapes it. */
  async start(): Promise<void> {
    const env = testEnv();
    if (!env.prometheusUrl || !env.prometheusFileSdDir)
      throw new Error('the test plane runs without Prometheus');
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const port = (this.server.address() as AddressInfo).port;
    this.sdFile = join(env.prometheusFileSdDir, `${this.job}.json`);
    const tmp = `${this.sdFile}.tmp`;
    writeFileSync(tmp, JSON.stringify([{ targets: [`127.0.0.1:${port}`], labels: { job: this.job } }]));
    renameSync(tmp, this.sdFile); // atomic: Prometheus never reads half a file
    await waitFor(
      `Prometheus scraping ${this.job}`,
      async () => {
        const res = await fetch(`${env.prometheusUrl}/api/v1/query`, {
          method: 'POST',
          body: new URLSearchParams({ query: `up{job="${this.job}"}` }),
        });
        const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
        return body.data.result[0]?.value[1] === '1';
      },
      60_000,
    );
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (this.sdFile) rmSync(this.sdFile, { force: true });
    await new Promise((r) => this.server.close(r));
  }
}
