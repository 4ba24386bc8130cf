// Parsing and formatting of Go durations and Kubernetes quantities. Small and hand-written:
// the npm packages for either are unmaintained or pull in far more than these few rules.

const durationUnitsMs: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Regular expression for a Go `time.ParseDuration` string without a sign (e.g. `1h30m`, `0`). */
export const GO_DURATION_PATTERN = '^(0|([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$';
const goDurationRe = new RegExp(GO_DURATION_PATTERN);
const durationPartRe = /([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)/g;

/** Parses a Go duration (as `metav1.Duration` serialises it) into milliseconds. */
export function parseDuration(text: string): number {
  if (!goDurationRe.test(text))
    throw new Error(`invalid duration ${JSON.stringify(text)}: use Go syntax such as "90s", "5m" or "1h30m"`);
  if (text === '0') return 0;
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(durationPartRe))
    ms += Number(amount) * durationUnitsMs[unit!]!;
  return ms;
}

/** Formats milliseconds the way Go prints a duration (`1h30m0s`, `90s`, `0s`), to whole milliseconds. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${Number(s.toFixed(3))}s`;
}

/** The pattern Kubernetes uses for resource.Quantity in OpenAPI schemas. */
export const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';
const quantityRe = new RegExp(QUANTITY_PATTERN);

const binarySuffix: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const decimalSuffix: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

export type QuantityValue = string | number;

const PARSED_QUANTITIES_KEPT = 4096;
const parsedQuantities = new Map<string, number>();

/** Parses a Kubernetes quantity (`100m`, `1.5`, `300M`, `1Gi`, `1e3`, or a plain number) into base units. */
export function parseQuantity(value: QuantityValue): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`invalid quantity ${value}`);
    return value;
  }
  const known = parsedQuantities.get(value);
  if (known !== undefined) return known;
  const parsed = parseQuantityText(value);
  // A reconcile of a thousand instances parses the same few quantities tens of thousands of times.
  if (parsedQuantities.size >= PARSED_QUANTITIES_KEPT) parsedQuantities.clear();
  parsedQuantities.set(value, parsed);
  return parsed;
}

function parseQuantityText(value: string): number {
  const text = value.trim();
  if (!quantityRe.test(text))
    throw new Error(
      `invalid quantity ${JSON.stringify(value)}: use Kubernetes syntax such as "500m", "2", "512Mi" or "1G"`,
    );
  const match = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)$/.exec(text)!;
  const number = Number(match[1]);
  const suffix = match[2]!;
  if (suffix in binarySuffix) return number * binarySuffix[suffix]!;
  if (suffix in decimalSuffix) return number * decimalSuffix[suffix]!;
  return number * 10 ** Number(suffix.slice(1)); // exponent form, e.g. e3
}

/** CPU in whole millicores, rounded up (Kubernetes never stores less than 1m). */
export function cpuMillis(value: QuantityValue): number {
  return Math.ceil(Math.round(parseQuantity(value) * 1e6) / 1e3);
}

/** Memory in whole bytes, rounded up. */
export function memoryBytes(value: QuantityValue): number {
  return Math.ceil(Math.round(parseQuantity(value) * 1e3) / 1e3);
}

/** Canonical text for CPU millicores: `2` for whole cores, else `1500m`. */
export function formatCpu(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}

/** Canonical decimal text for bytes, as the API server would store it (`300M`, `1200G`, `1536`). */
export function formatMemory(bytes: number): string {
  for (const [suffix, factor] of [
    ['E', 1e18],
    ['P', 1e15],
    ['T', 1e12],
    ['G', 1e9],
    ['M', 1e6],
    ['k', 1e3],
  ] as const) {
    if (bytes !== 0 && bytes % factor === 0) return `${bytes / factor}${suffix}`;
  }
  return String(bytes);
}
