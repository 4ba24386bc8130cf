// Structured JSON logs (pino). One logger per process; children carry the Consumer's key.
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { component: 'konsumerator' }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that drops everything, for tests and library use. */
export const silentLogger = (): Logger => pino({ level: 'silent' });
