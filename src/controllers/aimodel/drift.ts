// Another writer keeps changing a field the operator owns (a script, a second controller, a
// human with kubectl). Correcting each change at once would let the other writer drive the
// operator's write rate; never correcting would break the contract. Corrections of one object
// are spaced out exponentially instead: 1 s, 2 s, 4 s ... up to 5 minutes between two, which
// bounds the operator to a handful of writes per minute however fast the other side writes.
import type { Clock } from '../../runtime/clock.ts';

interface History {
  corrections: number;
  lastAt: number;
}

export interface DriftBackoffOptions {
  baseMs?: number;
  maxMs?: number;
  /** A quiet period after which an object's history is forgotten. */
  forgetAfterMs?: number;
}

export class DriftBackoff {
  private readonly clock: Clock;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly forgetAfterMs: number;
  private readonly history = new Map<string, History>();

  constructor(clock: Clock, options: DriftBackoffOptions = {}) {
    this.clock = clock;
    this.baseMs = options.baseMs ?? 1000;
    this.maxMs = options.maxMs ?? 300_000;
    this.forgetAfterMs = options.forgetAfterMs ?? 600_000;
  }

  /**
   * Asks to correct drift of `key` now. Returns 0 and records the correction when allowed,
   * otherwise how many milliseconds remain until the next correction may happen.
   */
  admit(key: string): number {
    const now = this.clock.now();
    const past = this.history.get(key);
    if (past && now - past.lastAt < this.forgetAfterMs) {
      const gap = Math.min(this.maxMs, this.baseMs * 2 ** (past.corrections - 1));
      const wait = past.lastAt + gap - now;
      if (wait > 0) return wait;
      past.corrections += 1;
      past.lastAt = now;
      return 0;
    }
    this.history.set(key, { corrections: 1, lastAt: now });
    this.prune(now);
    return 0;
  }

  /** How many corrections of `key` happened in its current episode. */
  corrections(key: string): number {
    return this.history.get(key)?.corrections ?? 0;
  }

  forget(key: string): void {
    this.history.delete(key);
  }

  private prune(now: number): void {
    if (this.history.size < 4096) return;
    for (const [key, h] of this.history) if (now - h.lastAt >= this.forgetAfterMs) this.history.delete(key);
  }
}

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  time?: string;
  subresource?: string;
}

/** The other writers of an object, most recent first, excluding the given managers. */
export function otherManagers(managedFields: unknown[] | undefined, exclude: readonly string[]): string[] {
  const entries = (managedFields ?? []) as ManagedFieldsEntry[];
  return entries
    .filter((e) => e.manager && !exclude.includes(e.manager) && e.subresource !== 'status')
    .sort((a, b) => (b.time ?? '').localeCompare(a.time ?? ''))
    .map((e) => e.manager!)
    .filter((m, i, all) => all.indexOf(m) === i);
}
