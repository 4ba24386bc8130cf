// Label values must be at most 63 characters, start and end alphanumeric.

/** Cuts a value to a valid label value (the original cut to 63 characters without re-checking the end). */
export function toLabelValue(value: string): string {
  return value
    .slice(0, 63)
    .replace(/[^A-Za-z0-9]+$/, '')
    .replace(/^[^A-Za-z0-9]+/, '');
}
