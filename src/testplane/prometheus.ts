// Prometheus 2.42 from Debian's `prometheus` package, run with its own config on a free loopback
// port. It scrapes every second: the kafka_exporter (job "kafka-exporter"), any static targets
// given at start, and whatever target files a test drops into the file_sd directory at run time.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { findOnPath } from './binaries.js';
import { httpGet } from './http.js';
import { freePort } from './ports.js';
import { startProcess, type ManagedProcess } from './process.js';
import { waitFor } from './wait.js';

export const KAFKA_EXPORTER_JOB = 'kafka-exporter';
/** The job of file_sd targets whose file gives no `job` label. */
export const FILE_SD_JOB = 'file-sd';

/** A scrape job: `targets` are host:port, scraped at /metrics over http. */
export interface ScrapeTarget {
  job: string;
  targets: string[];
  /** Extra labels on every series of these targets. */
  labels?: Record<string, string>;
}

export interface PrometheusServer {
  process: ManagedProcess;
  /** http://127.0.0.1:<port> */
  url: string;
  /** Directory of file_sd target files (`*.json`), re-read every second; see addScrapeTarget. */
  fileSdDir: string;
}

export interface PrometheusParams {
  dir: string;
  /** host:port of the kafka_exporter, scraped as job "kafka-exporter" (it may start later). */
  exporterAddress?: string;
  /** More static scrape jobs. */
  scrapeTargets?: readonly ScrapeTarget[];
}

export async function startPrometheus(p: PrometheusParams): Promise<PrometheusServer> {
  const binary = findOnPath('prometheus');
  if (!binary) {
    throw new Error('prometheus not found on PATH: apt-get install -y --no-install-recommends prometheus');
  }
  const promDir = join(p.dir, 'prometheus');
  const fileSdDir = join(promDir, 'file_sd');
  mkdirSync(fileSdDir, { recursive: true });
  const configFile = join(promDir, 'prometheus.yml');
  const jobs: ScrapeTarget[] = [
    ...(p.exporterAddress ? [{ job: KAFKA_EXPORTER_JOB, targets: [p.exporterAddress] }] : []),
    ...(p.scrapeTargets ?? []),
  ];
  writeFileSync(configFile, prometheusConfig(jobs, fileSdDir));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const process = startProcess({
    name: 'prometheus',
    command: binary,
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(promDir, 'data')}`,
      '--storage.tsdb.retention.time=2h',
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
      '--web.enable-remote-write-receiver',
      // Series of a stopped exporter or a deleted group disappear after 30 s instead of 5 min.
      '--query.lookback-delta=30s',
    ],
    logFile: join(p.dir, 'prometheus.log'),
  });
  await waitFor(
    'prometheus /-/ready',
    async () => (await httpGet(`${url}/-/ready`)).status === 200 || undefined,
    {
      process,
      timeoutMs: 30_000,
    },
  );
  return { process, url, fileSdDir };
}

/**
 * Waits until Prometheus has scraped `job` successfully (`up == 1`). Discovery hands new targets to
 * the scrape manager in batches about every 5 s, so a fresh target takes up to ~7 s.
 */
export async function waitForScrape(
  server: PrometheusServer,
  job: string,
  timeoutMs = 30_000,
): Promise<void> {
  await waitFor(
    `prometheus scraping ${job} (up == 1)`,
    async () => ((await queryPrometheus(server.url, `up{job="${job}"} == 1`)).length > 0 ? true : undefined),
    { process: server.process, timeoutMs },
  );
}

/** The config file: 1 s scrape interval, the given static jobs, and one file_sd job. */
export function prometheusConfig(jobs: readonly ScrapeTarget[], fileSdDir: string): string {
  return stringify({
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    scrape_configs: [
      ...jobs.map((j) => ({
        job_name: j.job,
        static_configs: [{ targets: j.targets, ...(j.labels ? { labels: j.labels } : {}) }],
      })),
      {
        // A `job` label in a file overrides the job name (target labels win over job_name).
        job_name: FILE_SD_JOB,
        file_sd_configs: [{ files: [join(fileSdDir, '*.json')], refresh_interval: '1s' }],
      },
    ],
  });
}

/**
 * Makes Prometheus scrape `target.targets` as job `target.job` from now on, by writing
 * `<fileSdDir>/<job>.json` (atomically: the name Prometheus sees appears complete). Writing the
 * same job again replaces its targets. Returns the file's path. The first scrape follows within
 * about 1 to 7 s (file refresh, then the discovery manager's 5 s batching): poll for `up`.
 */
export function addScrapeTarget(fileSdDir: string, target: ScrapeTarget): string {
  const file = targetFile(fileSdDir, target.job);
  const groups = [{ targets: target.targets, labels: { ...target.labels, job: target.job } }];
  writeFileSync(`${file}.tmp`, `${JSON.stringify(groups, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return file;
}

/** Stops scraping a job added with addScrapeTarget. */
export function removeScrapeTarget(fileSdDir: string, job: string): void {
  rmSync(targetFile(fileSdDir, job), { force: true });
}

function targetFile(fileSdDir: string, job: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(job)) throw new Error(`job name ${JSON.stringify(job)}: use [A-Za-z0-9_.-]`);
  return join(fileSdDir, `${job}.json`);
}

export interface PromSample {
  metric: Record<string, string>;
  /** The sample's value (NaN and ±Inf as Number() gives them). */
  value: number;
}

/** An instant query (POST /api/v1/query); the result must be a vector. */
export async function queryPrometheus(url: string, query: string): Promise<PromSample[]> {
  const response = await fetch(`${url}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query }),
    signal: AbortSignal.timeout(5_000),
  });
  const body = (await response.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  if (body.status !== 'success' || !body.data)
    throw new Error(`prometheus query ${query}: ${body.error ?? response.status}`);
  if (body.data.resultType !== 'vector')
    throw new Error(`prometheus query ${query}: ${body.data.resultType}, not a vector`);
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}
