// Every time-dependent piece of the runtime takes a Clock so tests can drive time
// deterministically instead of sleeping.

declare const timerBrand: unique symbol;
/** Opaque handle returned by Clock.setTimeout. */
export type Timer = { readonly [timerBrand]: true };

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(t: Timer | undefined): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, Math.max(0, ms)) as unknown as Timer,
  clearTimeout: (t) => {
    if (t !== undefined) globalThis.clearTimeout(t as unknown as NodeJS.Timeout);
  },
};

/**
 * Resolves after the current macrotask turn, i.e. after every promise continuation already
 * queued has run. Used by tests and FakeClock.advanceAsync; it never waits on wall time.
 */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Sleeps on the given clock; resolves early (without throwing) when the signal aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clock.clearTimeout(timer);
      resolve();
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface FakeTimer {
  id: number;
  due: number;
  delay: number;
  fn: () => void;
}

/**
 * A manual clock. Timers fire only from advance()/advanceAsync(), in due order (ties in creation
 * order), each with now() equal to its due time, so code under test sees a consistent timeline.
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Map<number, FakeTimer>();
  #timerWaiters: Array<(t: { delay: number; due: number }) => void> = [];

  constructor(startMs = Date.UTC(2025, 0, 1)) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const delay = Math.max(0, ms);
    const t: FakeTimer = { id: ++this.#seq, due: this.#now + delay, delay, fn };
    this.#timers.set(t.id, t);
    const waiters = this.#timerWaiters.splice(0);
    for (const w of waiters) w({ delay, due: t.due });
    return t.id as unknown as Timer;
  }

  clearTimeout(t: Timer | undefined): void {
    if (t !== undefined) this.#timers.delete(t as unknown as number);
  }

  /** Number of timers not yet fired or cleared. */
  pendingTimers(): number {
    return this.#timers.size;
  }

  /** Delays (ms from creation) of pending timers, soonest first. */
  pendingDelays(): number[] {
    return [...this.#timers.values()].sort(byDue).map((t) => t.delay);
  }

  /** Resolves on the next setTimeout call with that timer's delay. */
  nextTimer(): Promise<{ delay: number; due: number }> {
    return new Promise((resolve) => this.#timerWaiters.push(resolve));
  }

  /** Moves time forward synchronously, firing due timers (including ones they schedule). */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (let t = this.#nextDue(target); t; t = this.#nextDue(target)) {
      this.#timers.delete(t.id);
      this.#now = Math.max(this.#now, t.due);
      t.fn();
    }
    this.#now = target;
  }

  /**
   * Like advance, but lets promise continuations run before and after each timer so async
   * loops driven by the clock make progress between firings.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.#now + ms;
    await flushMicrotasks();
    for (let t = this.#nextDue(target); t; t = this.#nextDue(target)) {
      this.#timers.delete(t.id);
      this.#now = Math.max(this.#now, t.due);
      t.fn();
      await flushMicrotasks();
    }
    this.#now = target;
    await flushMicrotasks();
  }

  /** Moves time without firing timers: simulates a blocked event loop. */
  jump(ms: number): void {
    this.#now += ms;
  }

  #nextDue(target: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.#timers.values()) {
      if (t.due <= target && (!best || byDue(t, best) < 0)) best = t;
    }
    return best;
  }
}

function byDue(a: FakeTimer, b: FakeTimer): number {
  return a.due - b.due || a.id - b.id;
}
