// Headers for webhook targets whose values are credentials (an Authorization token, an API key).
// A value is never on the command line: the operator reads it from a file, which in a cluster is a
// key of a Secret mounted into its pod (the Helm chart's `notifications.targets[].headers`). The
// file is read again for every delivery (a few bytes), so a rotated Secret is used as soon as the
// kubelet updates the mount. Values are never logged and never a metrics label; a header is known
// in logs by its name and file path only.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { CLIENT_SET_HEADERS } from '../net/client-headers.js';

/** `--notify-header <target>=<Header-Name>:<file>`: target is the 1-based position of a `--notify-url`. */
export interface HeaderFromFile {
  /** Index into the list of targets (0-based). */
  target: number;
  name: string;
  path: string;
}

/** RFC 9110 token characters. */
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

const CLIENT_SET = new Set<string>(CLIENT_SET_HEADERS);

/** The header name is acceptable, or the reason it is not. */
export function headerNameProblem(name: string): string | undefined {
  if (!TOKEN.test(name)) return `"${name}" is not a header name (letters, digits and !#$%&'*+.^_\`|~- only)`;
  const lower = name.toLowerCase();
  if (CLIENT_SET.has(lower)) return `${name} is set by the operator's HTTP client and cannot be replaced`;
  if (lower.startsWith('ce-')) return `${name}: ce-* headers are CloudEvents attributes and cannot be set`;
  return undefined;
}

/** Parses one `--notify-header` value against the number of targets; throws a clear error. */
export function parseNotifyHeader(text: string, targetCount: number): HeaderFromFile {
  const flag = `--notify-header "${text}"`;
  const match = /^(\d+)=([^:]*):(.+)$/.exec(text.trim());
  if (!match)
    throw new Error(`${flag}: expected <target>=<Header-Name>:<file>, e.g. 1=Authorization:/etc/token`);
  const position = Number(match[1]);
  if (position < 1 || position > targetCount)
    throw new Error(
      `${flag}: target ${position} does not exist; targets are numbered 1 to ${targetCount} in --notify-url order`,
    );
  const name = match[2]!;
  const problem = headerNameProblem(name);
  if (problem) throw new Error(`${flag}: ${problem}`);
  return { target: position - 1, name, path: match[3]! };
}

/** Refuses a name given twice for one target (in any case). */
export function checkDistinct(headers: readonly HeaderFromFile[]): void {
  const seen = new Set<string>();
  for (const { target, name } of headers) {
    const key = `${target}/${name.toLowerCase()}`;
    if (seen.has(key)) throw new Error(`--notify-header: ${name} is given twice for target ${target + 1}`);
    seen.add(key);
  }
}

/** The value in a file: one line, its trailing line break dropped. Throws without the value. */
function valueOf(text: string, header: HeaderFromFile): string {
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw new Error(`the file ${header.path} for header ${header.name} is empty`);
  if (/[\r\n\0]/.test(value))
    throw new Error(`the file ${header.path} for header ${header.name} holds more than one line`);
  return value;
}

/** Reads one header's file at start: unreadable or unusable stops the operator with a clear error. */
export function checkReadable(header: HeaderFromFile): void {
  let text: string;
  try {
    text = readFileSync(header.path, 'utf8');
  } catch (error) {
    throw new Error(
      `--notify-header: cannot read ${header.path} for header ${header.name}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  valueOf(text, header);
}

/**
 * The headers of one target, read from their files for each delivery. A file that cannot be read
 * (a Secret being replaced) keeps the value last read; `onProblem` is told why, without the value.
 */
export class FileHeaders {
  private readonly last = new Map<string, string>();

  constructor(
    private readonly headers: readonly HeaderFromFile[],
    private readonly onProblem: (message: string) => void,
  ) {}

  async read(): Promise<Record<string, string>> {
    const result: Record<string, string> = {};
    for (const header of this.headers) {
      try {
        const value = valueOf(await readFile(header.path, 'utf8'), header);
        this.last.set(header.name, value);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        this.onProblem(
          code
            ? `cannot read ${header.path} for header ${header.name}: ${code}`
            : String((error as Error).message),
        );
      }
      const value = this.last.get(header.name);
      if (value !== undefined) result[header.name.toLowerCase()] = value;
    }
    return result;
  }
}
