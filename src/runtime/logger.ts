// The subset of pino's Logger the runtime uses, so components can be tested with a plain
// object and the lead can pass a pino instance unchanged.
export interface Logger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export const noopLogger: Logger = {
  error() {},
  warn() {},
  info() {},
  debug() {},
  child() {
    return noopLogger;
  },
};

export interface LogRecord {
  level: 'error' | 'warn' | 'info' | 'debug';
  msg: string | undefined;
  obj: Record<string, unknown>;
}

/** Collects records in memory; children share the parent's record list. */
export class MemoryLogger implements Logger {
  readonly records: LogRecord[];
  readonly bindings: Record<string, unknown>;

  constructor(bindings: Record<string, unknown> = {}, records: LogRecord[] = []) {
    this.bindings = bindings;
    this.records = records;
  }

  error(obj: object, msg?: string): void {
    this.#push('error', obj, msg);
  }
  warn(obj: object, msg?: string): void {
    this.#push('warn', obj, msg);
  }
  info(obj: object, msg?: string): void {
    this.#push('info', obj, msg);
  }
  debug(obj: object, msg?: string): void {
    this.#push('debug', obj, msg);
  }
  child(bindings: Record<string, unknown>): Logger {
    return new MemoryLogger({ ...this.bindings, ...bindings }, this.records);
  }

  #push(level: LogRecord['level'], obj: object, msg: string | undefined): void {
    this.records.push({ level, msg, obj: { ...this.bindings, ...obj } });
  }
}
