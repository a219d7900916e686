// JSON.parse gives every string value of every object its own copy: each cached Deployment
// carries its own "aimodel-operator", "RollingUpdate", model name, namespace, owner UID and
// timestamps, which made up a third of the caches' heap. Interning the values of objects as
// they enter a cache keeps one copy of each. The table holds at most `maxEntries` strings and
// is emptied when full, so values that never repeat cannot make it grow without bound;
// strings already shared stay shared.

/** Values that change on every write and never repeat: not worth a table entry. */
const uninterned = new Set(['resourceVersion']);

export class StringInterner {
  readonly #table = new Map<string, string>();
  readonly #maxEntries: number;
  readonly #maxLength: number;

  constructor(options: { maxEntries?: number; maxLength?: number } = {}) {
    this.#maxEntries = options.maxEntries ?? 200_000;
    this.#maxLength = options.maxLength ?? 256;
  }

  get size(): number {
    return this.#table.size;
  }

  /** The table's copy of `s` (which becomes the copy when it is new). */
  intern(s: string): string {
    if (s.length > this.#maxLength) return s;
    const shared = this.#table.get(s);
    if (shared !== undefined) return shared;
    if (this.#table.size >= this.#maxEntries) this.#table.clear();
    this.#table.set(s, s);
    return s;
  }

  /** Replaces, in place, every string value in a freshly parsed object; returns the object. */
  internValues<T>(value: T): T {
    this.#walk(value);
    return value;
  }

  #walk(value: unknown): void {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (typeof item === 'string') value[i] = this.intern(item);
        else if (item !== null && typeof item === 'object') this.#walk(item);
      }
    } else if (value !== null && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        const item = record[key];
        if (typeof item === 'string') {
          if (!uninterned.has(key)) record[key] = this.intern(item);
        } else if (item !== null && typeof item === 'object') this.#walk(item);
      }
    }
  }
}
