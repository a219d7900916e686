// controller-runtime's internal controller (pkg/internal/controller/controller.go) in small:
// watches map events to keys, N workers drain a rate-limited queue, results map to requeues.
import { randomBytes } from 'node:crypto';
import { realClock, type Clock, type Timer } from './clock.ts';
import {
  controllerOf,
  keyFor,
  splitKey,
  type EventHandler,
  type Informer,
  type KubeObject,
} from './informer.ts';
import { noopLogger, type Logger } from './logger.ts';
import { defaultControllerRateLimiter, type RateLimiter } from './ratelimiter.ts';
import { noopWorkQueueMetricsProvider, WorkQueue, type WorkQueueMetricsProvider } from './workqueue.ts';

export interface Request {
  namespace: string;
  name: string;
}

export interface Result {
  /** Reconcile again after this long, with the failure history forgotten. */
  requeueAfterMs?: number;
  /** @deprecated as in controller-runtime: prefer requeueAfterMs. Rate-limited requeue. */
  requeue?: boolean;
}

export interface ReconcileContext {
  /** Aborted when the controller is cancelled (e.g. leadership lost); not on graceful drain. */
  signal: AbortSignal;
  /** Bound with controller, namespace, name and reconcileID. */
  log: Logger;
}

export interface Reconciler {
  reconcile(req: Request, ctx: ReconcileContext): Promise<Result>;
}

/** controller-runtime reconcile.TerminalError: logged and counted, never requeued. */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export function isTerminalError(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) if (e instanceof TerminalError) return true;
  return false;
}

/** A delay the server asked for (HTTP 429/503 Retry-After), read from `err.retryAfterMs`. */
export function retryAfterMs(err: unknown): number | undefined {
  const v = typeof err === 'object' && err !== null ? (err as { retryAfterMs?: unknown }).retryAfterMs : undefined;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

export type ReconcileResultLabel = 'success' | 'error' | 'requeue' | 'requeue_after';

/** The controller_runtime_* metric hooks; metrics.ts implements them over prom-client. */
export interface ControllerMetrics {
  /** Pre-creates every series at zero (controller-runtime initMetrics). */
  init(controller: string, maxConcurrentReconciles: number): void;
  reconcileTotal(controller: string, result: ReconcileResultLabel): void;
  reconcileError(controller: string): void;
  terminalReconcileError(controller: string): void;
  reconcilePanic(controller: string): void;
  reconcileTime(controller: string, seconds: number): void;
  activeWorkers(controller: string, delta: 1 | -1): void;
}

export const noopControllerMetrics: ControllerMetrics = {
  init() {},
  reconcileTotal() {},
  reconcileError() {},
  terminalReconcileError() {},
  reconcilePanic() {},
  reconcileTime() {},
  activeWorkers() {},
};

export type MapFunc<T> = (obj: T) => Iterable<Request>;

export interface WatchOptions<T> {
  /** Return false to drop an update (e.g. generationChangedPredicate). */
  updatePredicate?: (oldObj: T, newObj: T) => boolean;
  /** The primary informer supplies the keys for periodic resync. */
  primary?: boolean;
}

/** Maps an object to its own key (controller-runtime EnqueueRequestForObject). */
export function enqueueObject(obj: KubeObject): Request[] {
  return [{ namespace: obj.metadata.namespace ?? '', name: obj.metadata.name }];
}

/**
 * Maps an owned object to its controller owner's key when the controller reference matches
 * the owner's API group and kind (controller-runtime EnqueueRequestForOwner + OnlyControllerOwner).
 * The owner is assumed namespaced in the child's namespace.
 */
export function enqueueControllerOwner(owner: { group: string; kind: string }): MapFunc<KubeObject> {
  return (obj) => {
    const ref = controllerOf(obj);
    if (!ref || ref.kind !== owner.kind || groupOf(ref.apiVersion) !== owner.group) return [];
    return [{ namespace: obj.metadata.namespace ?? '', name: ref.name }];
  };
}

/** "apps/v1" → "apps"; "v1" → "" (the core group). */
export function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

/** controller-runtime GenerationChangedPredicate: ignore status/metadata-only updates. */
export function generationChangedPredicate(oldObj: KubeObject, newObj: KubeObject): boolean {
  return oldObj.metadata.generation !== newObj.metadata.generation;
}

export interface ControllerOptions {
  name: string;
  reconciler: Reconciler;
  /** MaxConcurrentReconciles. */
  workers?: number;
  clock?: Clock;
  logger?: Logger;
  rateLimiter?: RateLimiter<string>;
  metrics?: ControllerMetrics;
  workqueueMetrics?: WorkQueueMetricsProvider;
  /** Period for re-enqueuing every primary key; 0 disables. Default 10 h, jittered ±10%. */
  resyncPeriodMs?: number;
  /** controller-runtime CacheSyncTimeout: 2 minutes. */
  cacheSyncTimeoutMs?: number;
  random?: () => number;
  reconcileIdGenerator?: () => string;
}

interface Watch {
  informer: Informer<KubeObject>;
  handler: EventHandler<KubeObject>;
  primary: boolean;
}

export class Controller {
  readonly name: string;
  readonly workers: number;
  readonly queue: WorkQueue<string>;
  readonly #reconciler: Reconciler;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #metrics: ControllerMetrics;
  readonly #resyncPeriodMs: number;
  readonly #cacheSyncTimeoutMs: number;
  readonly #random: () => number;
  readonly #newReconcileId: () => string;
  readonly #watches: Watch[] = [];
  readonly #cancel = new AbortController();
  #started = false;
  #workersRunning = false;
  #resyncTimer: Timer | undefined;

  constructor(opts: ControllerOptions) {
    this.name = opts.name;
    this.workers = opts.workers ?? 1;
    if (!(this.workers >= 1)) throw new Error('workers must be at least 1');
    this.#reconciler = opts.reconciler;
    this.#clock = opts.clock ?? realClock;
    this.#log = (opts.logger ?? noopLogger).child({ controller: opts.name });
    this.#metrics = opts.metrics ?? noopControllerMetrics;
    this.#resyncPeriodMs = opts.resyncPeriodMs ?? 10 * 60 * 60_000;
    this.#cacheSyncTimeoutMs = opts.cacheSyncTimeoutMs ?? 120_000;
    this.#random = opts.random ?? Math.random;
    this.#newReconcileId = opts.reconcileIdGenerator ?? (() => randomBytes(8).toString('hex'));
    this.queue = new WorkQueue<string>({
      name: opts.name,
      clock: this.#clock,
      rateLimiter: opts.rateLimiter ?? defaultControllerRateLimiter<string>(this.#clock),
      metricsProvider: opts.workqueueMetrics ?? noopWorkQueueMetricsProvider,
    });
  }

  /**
   * Enqueues the keys `map` returns for every add, update (old and new object, so a changed
   * owner reaches both owners) and delete. Handlers are attached in start(), so nothing is
   * queued on a replica that never leads.
   */
  watch<T extends KubeObject>(informer: Informer<T>, map: MapFunc<T>, opts: WatchOptions<T> = {}): this {
    if (this.#started) throw new Error('watch() must be called before start()');
    const enqueue = (...objs: T[]): void => {
      // Dedupe first: adding the same key twice could hand it to a waiting worker and then
      // mark it dirty again, costing a second reconcile.
      const keys = new Set<string>();
      for (const obj of objs) for (const r of map(obj)) keys.add(keyFor(r.namespace, r.name));
      for (const key of keys) this.queue.add(key);
    };
    const handler: EventHandler<T> = {
      onAdd: (obj) => enqueue(obj),
      onUpdate: (oldObj, newObj) => {
        if (opts.updatePredicate && !opts.updatePredicate(oldObj, newObj)) return;
        enqueue(oldObj, newObj);
      },
      onDelete: (obj) => enqueue(obj),
    };
    this.#watches.push({
      informer: informer as unknown as Informer<KubeObject>,
      handler: handler as EventHandler<KubeObject>,
      primary: opts.primary ?? false,
    });
    return this;
  }

  /** Watches the reconciled kind itself: own key, primary for resync. */
  watchPrimary<T extends KubeObject>(informer: Informer<T>, opts: Omit<WatchOptions<T>, 'primary'> = {}): this {
    return this.watch(informer, enqueueObject, { ...opts, primary: true });
  }

  /**
   * Waits for the watched caches, then runs the workers until the signal aborts; then stops
   * handing out work and resolves once in-flight reconciles have finished (drain).
   * Rejects if the caches do not sync within cacheSyncTimeoutMs.
   */
  async start(signal: AbortSignal): Promise<void> {
    if (this.#started) throw new Error(`controller ${this.name} already started`);
    this.#started = true;
    this.#metrics.init(this.name, this.workers);
    const detach = this.#watches.map((w) => w.informer.addEventHandler(w.handler));
    const onAbort = (): void => this.queue.shutDown();
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    try {
      await this.#waitForCaches(signal);
      if (signal.aborted) return;
      this.#log.info({ workers: this.workers }, 'starting workers');
      this.#scheduleResync();
      const workers = Array.from({ length: this.workers }, () => this.#worker());
      this.#workersRunning = true;
      await Promise.all(workers);
      this.#log.info({}, 'all workers finished');
    } finally {
      this.#workersRunning = false;
      signal.removeEventListener('abort', onAbort);
      this.#clock.clearTimeout(this.#resyncTimer);
      this.queue.shutDown();
      for (const d of detach) d();
    }
  }

  /** True while workers are taking keys from the queue (for a readiness check). */
  get workersRunning(): boolean {
    return this.#workersRunning;
  }

  /** Keys waiting for a worker (not counting those being reconciled or waiting out a delay). */
  get queued(): number {
    return this.queue.len();
  }

  /** Graceful stop: no new work; resolves when in-flight reconciles are done. */
  stop(): Promise<void> {
    return this.queue.shutDownWithDrain();
  }

  /** Hard stop: also aborts the signal in-flight reconciles were given. */
  cancel(reason: Error = new Error('controller cancelled')): void {
    this.#cancel.abort(reason);
    this.queue.shutDown();
  }

  async #waitForCaches(signal: AbortSignal): Promise<void> {
    const informers = [...new Set(this.#watches.map((w) => w.informer))];
    if (informers.every((i) => i.hasSynced())) return;
    const timeout = new AbortController();
    const timer = this.#clock.setTimeout(() => timeout.abort(), this.#cacheSyncTimeoutMs);
    const stop = AbortSignal.any([signal, timeout.signal]);
    try {
      const synced = await Promise.all(informers.map((i) => i.waitForSync(stop)));
      if (signal.aborted) return;
      if (!synced.every(Boolean)) {
        const pending = informers.filter((i) => !i.hasSynced()).map((i) => i.name);
        throw new Error(
          `controller ${this.name}: timed out after ${this.#cacheSyncTimeoutMs} ms waiting for caches to sync: ${pending.join(', ')}`,
        );
      }
    } finally {
      this.#clock.clearTimeout(timer);
    }
  }

  #scheduleResync(): void {
    if (this.#resyncPeriodMs <= 0 || !this.#watches.some((w) => w.primary)) return;
    // controller-runtime's cache jitters its SyncPeriod by ±10% so replicas and kinds drift apart.
    const delay = this.#resyncPeriodMs * (0.9 + 0.2 * this.#random());
    this.#resyncTimer = this.#clock.setTimeout(() => {
      this.resync();
      this.#scheduleResync();
    }, delay);
  }

  /** Enqueues every key in the primary informers' caches. */
  resync(): void {
    let n = 0;
    for (const w of this.#watches) {
      if (!w.primary) continue;
      for (const key of w.informer.keys()) {
        this.queue.add(key);
        n++;
      }
    }
    this.#log.debug({ keys: n }, 'periodic resync');
  }

  async #worker(): Promise<void> {
    let since = performance.now();
    for (let key = await this.queue.get(); key !== undefined; key = await this.queue.get()) {
      try {
        await this.#process(key);
      } finally {
        this.queue.done(key);
      }
      // A reconcile with nothing to write finishes without I/O, in microtasks: a queue of
      // thousands (a resync, a restart) would hold the event loop until it is empty, starving
      // watches, probes and /metrics (2.5 s at 10,000 models). Yield every 10 ms of such work.
      if (performance.now() - since > 10) {
        await new Promise((resolve) => setImmediate(resolve));
        since = performance.now();
      }
    }
  }

  async #process(key: string): Promise<void> {
    const req = splitKey(key);
    const reconcileID = this.#newReconcileId();
    const log = this.#log.child({ namespace: req.namespace, name: req.name, reconcileID });
    this.#metrics.activeWorkers(this.name, 1);
    const started = this.#clock.now();
    let result: Result;
    try {
      try {
        result = await this.#reconciler.reconcile(req, { signal: this.#cancel.signal, log });
      } finally {
        this.#metrics.reconcileTime(this.name, (this.#clock.now() - started) / 1000);
        this.#metrics.activeWorkers(this.name, -1);
      }
    } catch (err) {
      this.#handleError(key, err, log);
      return;
    }
    const after = result?.requeueAfterMs ?? 0;
    if (after > 0) {
      this.queue.forget(key);
      this.queue.addAfter(key, after);
      this.#metrics.reconcileTotal(this.name, 'requeue_after');
    } else if (result?.requeue) {
      this.queue.addRateLimited(key);
      this.#metrics.reconcileTotal(this.name, 'requeue');
    } else {
      this.queue.forget(key);
      this.#metrics.reconcileTotal(this.name, 'success');
    }
  }

  #handleError(key: string, err: unknown, log: Logger): void {
    this.#metrics.reconcileError(this.name);
    this.#metrics.reconcileTotal(this.name, 'error');
    if (isPanic(err)) this.#metrics.reconcilePanic(this.name);
    if (isTerminalError(err)) {
      this.#metrics.terminalReconcileError(this.name);
      log.error({ err }, 'Reconciler error (terminal, not requeued)');
      return;
    }
    const serverDelay = retryAfterMs(err);
    if (serverDelay !== undefined) {
      // Honour the server's Retry-After, but never retry sooner than our own backoff would.
      const delay = Math.max(serverDelay, this.queue.rateLimiterDelay(key));
      this.queue.addAfter(key, delay);
      log.error({ err, retryAfterMs: delay }, 'Reconciler error');
      return;
    }
    this.queue.addRateLimited(key);
    log.error({ err }, 'Reconciler error');
  }
}

/**
 * JavaScript has no panics; the closest are programming errors. TypeErrors with a cause are
 * excluded because fetch reports network failures as TypeError('fetch failed', { cause }).
 */
export function isPanic(err: unknown): boolean {
  if (!(err instanceof Error)) return true;
  return err instanceof ReferenceError || (err instanceof TypeError && err.cause === undefined);
}

