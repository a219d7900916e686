// Port of client-go util/workqueue (queue.go, delaying_queue.go, rate_limiting_queue.go,
// metrics.go) onto a single-threaded event loop.
import { realClock, type Clock, type Timer } from './clock.ts';
import { defaultControllerRateLimiter, type RateLimiter } from './ratelimiter.ts';

export interface CounterMetric {
  inc(): void;
}
export interface GaugeMetric {
  inc(): void;
  dec(): void;
}
export interface SettableGaugeMetric {
  set(value: number): void;
}
export interface HistogramMetric {
  observe(value: number): void;
}

/** client-go workqueue.MetricsProvider; each queue asks for its metrics by queue name. */
export interface WorkQueueMetricsProvider {
  newDepthMetric(name: string): GaugeMetric;
  newAddsMetric(name: string): CounterMetric;
  newLatencyMetric(name: string): HistogramMetric;
  newWorkDurationMetric(name: string): HistogramMetric;
  newUnfinishedWorkSecondsMetric(name: string): SettableGaugeMetric;
  newLongestRunningProcessorSecondsMetric(name: string): SettableGaugeMetric;
  newRetriesMetric(name: string): CounterMetric;
}

const noop = { inc() {}, dec() {}, set() {}, observe() {} };
export const noopWorkQueueMetricsProvider: WorkQueueMetricsProvider = {
  newDepthMetric: () => noop,
  newAddsMetric: () => noop,
  newLatencyMetric: () => noop,
  newWorkDurationMetric: () => noop,
  newUnfinishedWorkSecondsMetric: () => noop,
  newLongestRunningProcessorSecondsMetric: () => noop,
  newRetriesMetric: () => noop,
};

/** client-go refreshes the unfinished/longest-running gauges on this period. */
export const UNFINISHED_WORK_UPDATE_PERIOD_MS = 500;

export interface WorkQueueOptions<K> {
  name: string;
  clock?: Clock;
  rateLimiter?: RateLimiter<K>;
  metricsProvider?: WorkQueueMetricsProvider;
}

/**
 * A rate-limited, delaying work queue with client-go semantics:
 * - an item is queued at most once (dirty set) and never handed to two workers at once
 *   (processing set); an add while an item is processing re-queues it once, on done();
 * - addAfter keeps the earliest deadline per item;
 * - after shutdown, adds are ignored and get() resolves undefined.
 *
 * One deliberate difference: after shutdown client-go keeps handing out already-queued items
 * until the queue is empty; here get() stops at once so shutdown only waits for in-flight work.
 * Those items would be reconciled with a cancelled context anyway and the next leader relists.
 */
export class WorkQueue<K = string> {
  readonly name: string;
  readonly #clock: Clock;
  readonly #limiter: RateLimiter<K>;
  readonly #metrics: QueueMetrics<K>;

  readonly #queue = new Deque<K>();
  readonly #dirty = new Set<K>();
  readonly #processing = new Set<K>();
  readonly #waiting = new Map<K, { readyAt: number; timer: Timer }>();
  #getters: Array<(item: K | undefined) => void> = [];
  #drainers: Array<() => void> = [];
  #shuttingDown = false;

  constructor(opts: WorkQueueOptions<K>) {
    this.name = opts.name;
    this.#clock = opts.clock ?? realClock;
    this.#limiter = opts.rateLimiter ?? defaultControllerRateLimiter<K>(this.#clock);
    const provider = opts.metricsProvider ?? noopWorkQueueMetricsProvider;
    this.#metrics = new QueueMetrics(opts.name, provider, this.#clock, provider !== noopWorkQueueMetricsProvider);
  }

  add(item: K): void {
    if (this.#shuttingDown || this.#dirty.has(item)) return;
    this.#metrics.add(item);
    this.#dirty.add(item);
    if (this.#processing.has(item)) return;
    this.#push(item);
  }

  /** Adds the item after `ms`; if it is already waiting, the earlier deadline wins. */
  addAfter(item: K, ms: number): void {
    if (this.#shuttingDown) return;
    this.#metrics.retry();
    if (ms <= 0) {
      this.add(item);
      return;
    }
    const readyAt = this.#clock.now() + ms;
    const existing = this.#waiting.get(item);
    if (existing) {
      if (existing.readyAt <= readyAt) return;
      this.#clock.clearTimeout(existing.timer);
    }
    const timer = this.#clock.setTimeout(() => {
      this.#waiting.delete(item);
      this.add(item);
    }, ms);
    this.#waiting.set(item, { readyAt, timer });
  }

  addRateLimited(item: K): void {
    this.addAfter(item, this.#limiter.when(item));
  }

  /** Resets the item's rate-limiter history; does not remove it from the queue. */
  forget(item: K): void {
    this.#limiter.forget(item);
  }

  numRequeues(item: K): number {
    return this.#limiter.numRequeues(item);
  }

  /** Delay the rate limiter would impose on the item now (counts as a failure). */
  rateLimiterDelay(item: K): number {
    return this.#limiter.when(item);
  }

  /** Next item to process; undefined once the queue is shut down. Callers must call done(). */
  get(): Promise<K | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const item = this.#queue.shift();
    if (item !== undefined) return Promise.resolve(this.#take(item));
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  done(item: K): void {
    this.#metrics.done(item);
    this.#processing.delete(item);
    if (this.#dirty.has(item) && !this.#shuttingDown) {
      this.#push(item);
    } else if (this.#processing.size === 0 && this.#drainers.length > 0) {
      for (const resolve of this.#drainers.splice(0)) resolve();
    }
  }

  /** Items queued and not yet handed out (excludes processing and delayed items). */
  len(): number {
    return this.#queue.length;
  }

  isProcessing(item: K): boolean {
    return this.#processing.has(item);
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Stops accepting and handing out items; pending get() calls resolve undefined. */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const { timer } of this.#waiting.values()) this.#clock.clearTimeout(timer);
    this.#waiting.clear();
    for (const resolve of this.#getters.splice(0)) resolve(undefined);
  }

  /** shutDown, then resolves once every item already handed out has been done(). */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainers.push(resolve));
  }

  #push(item: K): void {
    const getter = this.#getters.shift();
    if (getter) {
      getter(this.#take(item));
      return;
    }
    this.#queue.push(item);
  }

  #take(item: K): K {
    this.#metrics.get(item);
    this.#processing.add(item);
    this.#dirty.delete(item);
    return item;
  }
}

/** client-go defaultQueueMetrics: tracks per-item timestamps to feed the metric hooks. */
class QueueMetrics<K> {
  readonly #clock: Clock;
  readonly #depth: GaugeMetric;
  readonly #adds: CounterMetric;
  readonly #latency: HistogramMetric;
  readonly #workDuration: HistogramMetric;
  readonly #unfinished: SettableGaugeMetric;
  readonly #longest: SettableGaugeMetric;
  readonly #retries: CounterMetric;
  readonly #enabled: boolean;
  readonly #addTimes = new Map<K, number>();
  readonly #processingStart = new Map<K, number>();
  #ticker: Timer | undefined;

  constructor(name: string, p: WorkQueueMetricsProvider, clock: Clock, enabled: boolean) {
    this.#clock = clock;
    this.#enabled = enabled;
    this.#depth = p.newDepthMetric(name);
    this.#adds = p.newAddsMetric(name);
    this.#latency = p.newLatencyMetric(name);
    this.#workDuration = p.newWorkDurationMetric(name);
    this.#unfinished = p.newUnfinishedWorkSecondsMetric(name);
    this.#longest = p.newLongestRunningProcessorSecondsMetric(name);
    this.#retries = p.newRetriesMetric(name);
  }

  add(item: K): void {
    this.#adds.inc();
    this.#depth.inc();
    if (!this.#addTimes.has(item)) this.#addTimes.set(item, this.#clock.now());
  }

  get(item: K): void {
    this.#depth.dec();
    const now = this.#clock.now();
    this.#processingStart.set(item, now);
    const added = this.#addTimes.get(item);
    if (added !== undefined) {
      this.#latency.observe((now - added) / 1000);
      this.#addTimes.delete(item);
    }
    // The gauges only move while something is processing, so the ticker runs only then;
    // an idle queue keeps no timer alive.
    if (this.#enabled && this.#ticker === undefined) this.#scheduleTick();
  }

  done(item: K): void {
    const start = this.#processingStart.get(item);
    if (start !== undefined) {
      this.#workDuration.observe((this.#clock.now() - start) / 1000);
      this.#processingStart.delete(item);
    }
  }

  retry(): void {
    this.#retries.inc();
  }

  #scheduleTick(): void {
    this.#ticker = this.#clock.setTimeout(() => {
      this.#ticker = undefined;
      this.#updateUnfinishedWork();
      if (this.#processingStart.size > 0) this.#scheduleTick();
    }, UNFINISHED_WORK_UPDATE_PERIOD_MS);
  }

  #updateUnfinishedWork(): void {
    const now = this.#clock.now();
    let total = 0;
    let oldest = 0;
    for (const start of this.#processingStart.values()) {
      const age = (now - start) / 1000;
      total += age;
      oldest = Math.max(oldest, age);
    }
    this.#unfinished.set(total);
    this.#longest.set(oldest);
  }
}

/** Array-backed FIFO with amortised O(1) shift. */
class Deque<T> {
  #items: T[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined as T;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}
