// Structured logs: JSON lines for machines (the default off a terminal), pino-pretty for people.
import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export function createLogger(level: string, format: 'json' | 'pretty' | 'auto'): PinoLogger {
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  const base = { level, base: { service: 'aimodel-operator' }, timestamp: pino.stdTimeFunctions.isoTime };
  if (!pretty) return pino(base);
  try {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } } });
  } catch {
    // pino-pretty is a development dependency; production images log JSON.
    return pino(base);
  }
}
