// Quantities and durations the way a person reads them in a table: `586Mi`, `1.5`, `250m`,
// `3h12m`. For display only; the API keeps the exact quantities.
import { cpuMillis, memoryBytes, type QuantityValue } from './units.js';

const IEC = ['Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'] as const;

/** Bytes in binary units with up to three significant digits: `614465536` → `586Mi`. */
export function humanBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  if (Math.abs(bytes) < 1024) return String(Math.round(bytes));
  let value = bytes;
  let unit = '';
  for (const next of IEC) {
    if (Math.abs(value) < 1024) break;
    value /= 1024;
    unit = next;
  }
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${Number(value.toFixed(digits))}${unit}`;
}

/** Millicores as cores (`2`, `1.5`) from one core up, else as millicores (`250m`). */
export function humanMillicores(millis: number): string {
  if (!Number.isFinite(millis)) return String(millis);
  if (Math.abs(millis) < 1000) return `${Math.round(millis)}m`;
  return String(Number((millis / 1000).toFixed(2)));
}

/** A memory quantity (`614465536`, `600M`, `1Gi`) in binary units; `-` when absent or unreadable. */
export function humanMemory(quantity: QuantityValue | undefined): string {
  if (quantity === undefined) return '-';
  try {
    return humanBytes(memoryBytes(quantity));
  } catch {
    return String(quantity);
  }
}

/** A CPU quantity (`1500m`, `0.25`, `2`) as humanMillicores; `-` when absent or unreadable. */
export function humanCpu(quantity: QuantityValue | undefined): string {
  if (quantity === undefined) return '-';
  try {
    return humanMillicores(cpuMillis(quantity));
  } catch {
    return String(quantity);
  }
}

/** Milliseconds as the two largest units, as kubectl shows ages: `45s`, `3m20s`, `5h12m`, `2d4h`. */
export function humanDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '∞';
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return h > 0 ? `${d}d${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h${m}m` : `${h}h`;
  if (m > 0) return sec > 0 ? `${m}m${sec}s` : `${m}m`;
  return `${sec}s`;
}
