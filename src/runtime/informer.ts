// A shared informer: list+watch into an indexed cache, with the recovery client-node's
// ListWatch lacks (operator-machinery.md §1.5–1.7): backoff on every error, relist on 410,
// a staleness watchdog, bookmarks, and handlers that cannot break the loop.
import { realClock, sleep, type Clock, type Timer } from './clock.ts';
import { StringInterner } from './intern.ts';
import { noopLogger, type Logger } from './logger.ts';

// The shapes of Kubernetes objects are shared with the client; the runtime needs only metadata.
import type { KubeObject, ObjectMeta, OwnerReference } from '../kube/types.ts';
export type { KubeObject, ObjectMeta, OwnerReference };

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
  continue?: string;
}

export type WatchEvent<T> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; object: T }
  | { type: 'ERROR'; status: { code?: number; reason?: string; message?: string } };

export interface ListWatcher<T> {
  /** `resourceVersion` is only ever given without `continue` (the API server refuses both). */
  list(opts: { limit?: number; continue?: string; resourceVersion?: string; signal: AbortSignal }): Promise<ListResult<T>>;
  /** Resolves when the server closes the stream; rejects on transport/HTTP error (`.status`). */
  watch(
    opts: {
      resourceVersion: string;
      allowWatchBookmarks: boolean;
      timeoutSeconds: number;
      /** Start with the current state as ADDED events and an initial-events-end bookmark. */
      sendInitialEvents?: boolean;
      signal: AbortSignal;
      /** Called once the server has accepted the watch (HTTP 200), before any event. */
      onOpen?: () => void;
    },
    onEvent: (e: WatchEvent<T>) => void,
  ): Promise<void>;
}

export interface EventHandler<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

export type IndexFunc<T> = (obj: T) => string[];

/** Told of every failed list/watch attempt, and once of the recovery after a run of them. */
export interface FailureObserver {
  failed?(err: unknown): void;
  recovered?(): void;
}

/** Cache key: "namespace/name", or "name" for cluster-scoped objects (client-go MetaNamespaceKeyFunc). */
export function objectKey(obj: KubeObject): string {
  const { namespace, name } = obj.metadata;
  return namespace ? `${namespace}/${name}` : name;
}

export function keyFor(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** The owner reference with controller: true, if any. */
export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

/** Index function: the UID of the object's controller owner. */
export const byControllerUID: IndexFunc<KubeObject> = (obj) => {
  const uid = controllerOf(obj)?.uid;
  return uid ? [uid] : [];
};

/** One table for every informer of the process: their objects repeat each other's strings. */
const processInterner = new StringInterner();

/** Drops metadata.managedFields, which is large and useless to a controller. */
export function dropManagedFields<T extends KubeObject>(obj: T): T {
  if (obj.metadata.managedFields === undefined) return obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** Error thrown by the watch path when the server says the resourceVersion is too old. */
export class GoneError extends Error {
  readonly status = 410;
}

class StaleWatchError extends Error {}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** Extra random fraction of the delay added on top (0.2 = up to +20%). */
  jitter: number;
  /** The attempt counter resets once this long has passed without a failure. */
  resetAfterMs: number;
}

/** client-go reflector: 800 ms doubling to 30 s, reset after 2 minutes without failures. */
export const defaultInformerBackoff: BackoffOptions = {
  initialMs: 800,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.2,
  resetAfterMs: 120_000,
};

export interface InformerOptions<T extends KubeObject> {
  /** For logs, e.g. the resource plural. */
  name: string;
  listWatcher: ListWatcher<T>;
  clock?: Clock;
  logger?: Logger;
  /** Applied to every object before it is stored; defaults to dropManagedFields. */
  transform?: (obj: T) => T;
  /** Shares equal strings between cached objects; defaults to one interner for the process. */
  interner?: StringInterner;
  indexers?: Record<string, IndexFunc<T>>;
  pageSize?: number;
  /**
   * Get the state as a stream (a watch with sendInitialEvents, the API server's WatchList)
   * instead of paged lists: objects are parsed and cached one by one as the server sends
   * them, with no page ever held whole. Falls back to lists where the server refuses it.
   */
  streamingList?: boolean;
  /** Relist when no event, bookmark or stream (re)open has been seen for this long. */
  staleAfterMs?: number;
  /**
   * Server-side watch timeout. Defaults to a random 50–90% of staleAfterMs so a healthy but quiet
   * stream is closed and reopened by the server before the watchdog would fire.
   */
  watchTimeoutSeconds?: number;
  backoff?: Partial<BackoffOptions>;
  random?: () => number;
}

/** The annotation on the bookmark that ends a stream's initial events. */
const initialEventsEnd = 'k8s.io/initial-events-end';

/** An API server that does not know sendInitialEvents refuses the request outright. */
function refusesInitialEvents(err: unknown): boolean {
  const status = (err as { status?: unknown })?.status;
  return status === 400 || status === 422;
}

/** client-go treats a watch that closes this quickly with no events as an error (backoff). */
const SHORT_WATCH_MS = 1000;

export class Informer<T extends KubeObject> {
  readonly name: string;
  readonly #lw: ListWatcher<T>;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #transform: (obj: T) => T;
  readonly #interner: StringInterner;
  readonly #indexers: Record<string, IndexFunc<T>>;
  readonly #pageSize: number;
  #streamingList: boolean;
  readonly #staleAfterMs: number;
  readonly #watchTimeoutSeconds: number | undefined;
  readonly #backoff: BackoffOptions;
  readonly #random: () => number;

  readonly #store = new Map<string, T>();
  readonly #indices = new Map<string, Map<string, Set<string>>>();
  readonly #handlers = new Set<EventHandler<T>>();
  readonly #failureObservers = new Set<FailureObserver>();
  #resourceVersion = '';
  #synced = false;
  /** The cache must be refilled with a full state (list, or stream with initial events). */
  #needList = true;
  #syncWaiters: Array<() => void> = [];
  #lastActivity: number | undefined;
  #lastListAt: number | undefined;
  #stopper: AbortController | undefined;
  #running: Promise<void> | undefined;
  #failures = 0;
  #lastFailureAt = 0;
  #failingSince: number | undefined;
  #lastFailure: unknown;

  constructor(opts: InformerOptions<T>) {
    this.name = opts.name;
    this.#lw = opts.listWatcher;
    this.#clock = opts.clock ?? realClock;
    this.#log = (opts.logger ?? noopLogger).child({ informer: opts.name });
    this.#transform = opts.transform ?? dropManagedFields;
    this.#interner = opts.interner ?? processInterner;
    this.#indexers = opts.indexers ?? {};
    this.#pageSize = opts.pageSize ?? 500;
    this.#streamingList = opts.streamingList ?? false;
    this.#staleAfterMs = opts.staleAfterMs ?? 5 * 60_000;
    this.#watchTimeoutSeconds = opts.watchTimeoutSeconds;
    this.#backoff = { ...defaultInformerBackoff, ...opts.backoff };
    this.#random = opts.random ?? Math.random;
    for (const name of Object.keys(this.#indexers)) this.#indices.set(name, new Map());
  }

  /**
   * Registers handlers. If the cache has already synced, onAdd is replayed for every cached
   * object (client-go AddEventHandler), so late registrants see the full state.
   * Returns a function that removes the handlers.
   */
  addEventHandler(handler: EventHandler<T>): () => void {
    this.#handlers.add(handler);
    if (this.#synced) for (const obj of this.#store.values()) this.#call(handler, 'onAdd', obj);
    return () => this.#handlers.delete(handler);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#store.get(keyFor(namespace, name));
  }

  getByKey(key: string): T | undefined {
    return this.#store.get(key);
  }

  list(namespace?: string): T[] {
    const out: T[] = [];
    for (const obj of this.#store.values()) {
      if (namespace === undefined || (obj.metadata.namespace ?? '') === namespace) out.push(obj);
    }
    return out;
  }

  keys(): string[] {
    return [...this.#store.keys()];
  }

  byIndex(indexName: string, value: string): T[] {
    const index = this.#indices.get(indexName);
    if (!index) throw new Error(`informer ${this.name}: no index named ${indexName}`);
    const out: T[] = [];
    for (const key of index.get(value) ?? []) {
      const obj = this.#store.get(key);
      if (obj) out.push(obj);
    }
    return out;
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves true once synced, false if the signal aborts or the informer stops first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.#synced) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = (): void => {
        this.#syncWaiters = this.#syncWaiters.filter((w) => w !== onSync);
        resolve(false);
      };
      const onSync = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.#synced);
      };
      this.#syncWaiters.push(onSync);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Milliseconds since list/watch started failing (the API server is unreachable, refusing or
   * throttling), or undefined while it works. The cache is stale while this is set.
   */
  failingForMs(): number | undefined {
    return this.#failingSince === undefined ? undefined : this.#clock.now() - this.#failingSince;
  }

  /**
   * The error of the latest failed list/watch attempt while they keep failing; undefined while
   * list/watch works. A `status` of 404 means the API server does not serve the resource at all
   * (its CustomResourceDefinition is not installed, or not at this version).
   */
  lastFailure(): unknown {
    return this.#lastFailure;
  }

  /** Registers an observer of list/watch failures and recoveries; returns a function that removes it. */
  addFailureObserver(observer: FailureObserver): () => void {
    this.#failureObservers.add(observer);
    return () => this.#failureObservers.delete(observer);
  }

  /** Milliseconds since the last list, watch event, bookmark or stream open; undefined before any. */
  lastActivityAgeMs(): number | undefined {
    return this.#lastActivity === undefined ? undefined : this.#clock.now() - this.#lastActivity;
  }

  /** Milliseconds since the last successful full list; undefined before the first. */
  lastListAgeMs(): number | undefined {
    return this.#lastListAt === undefined ? undefined : this.#clock.now() - this.#lastListAt;
  }

  lastResourceVersion(): string {
    return this.#resourceVersion;
  }

  /** Runs list+watch until the signal aborts or stop() is called. The cache is kept afterwards. */
  start(signal: AbortSignal): Promise<void> {
    if (this.#running) throw new Error(`informer ${this.name} already started`);
    const stopper = new AbortController();
    this.#stopper = stopper;
    const onAbort = (): void => stopper.abort(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    this.#running = this.#run(stopper.signal).finally(() => {
      signal.removeEventListener('abort', onAbort);
      for (const w of this.#syncWaiters.splice(0)) w();
    });
    return this.#running;
  }

  stop(): Promise<void> {
    this.#stopper?.abort(new Error('informer stopped'));
    return this.#running ?? Promise.resolve();
  }

  async #run(signal: AbortSignal): Promise<void> {
    this.#needList = true;
    while (!signal.aborted) {
      try {
        if (this.#needList && this.#streamingList) {
          await this.#watchOnce(signal, { initialEvents: true });
          continue;
        }
        if (this.#needList) await this.#listAndReplace(signal);
        await this.#watchOnce(signal, { initialEvents: false });
      } catch (err) {
        if (signal.aborted) break;
        if (this.#needList && this.#streamingList && refusesInitialEvents(err)) {
          this.#log.info({ err }, 'the API server does not stream initial events (WatchList); listing instead');
          this.#streamingList = false;
          continue;
        }
        if (err instanceof GoneError || isGone(err)) {
          this.#log.info({ resourceVersion: this.#resourceVersion }, 'watch resourceVersion expired (410 Gone); relisting');
          this.#needList = true;
          continue;
        }
        if (err instanceof StaleWatchError) {
          this.#log.warn({ staleAfterMs: this.#staleAfterMs }, 'watch stalled; relisting');
          this.#needList = true;
          continue;
        }
        this.#failingSince ??= this.#clock.now();
        const delay = this.#nextBackoff();
        // A failure like the one before (an API server down for minutes, a resource it does not
        // serve) is worth one warning, not one per retry: /readyz reports it while it lasts.
        const fields = { err, delayMs: Math.round(delay), relist: this.#needList };
        if (sameFailure(this.#lastFailure, err)) this.#log.debug(fields, 'list/watch failed again; retrying after backoff');
        else this.#log.warn(fields, 'list/watch failed; retrying after backoff');
        this.#lastFailure = err;
        this.#notifyFailureObservers('failed', err);
        await sleep(this.#clock, delay, signal);
      }
    }
  }

  #nextBackoff(): number {
    const now = this.#clock.now();
    if (now - this.#lastFailureAt > this.#backoff.resetAfterMs) this.#failures = 0;
    this.#lastFailureAt = now;
    const b = this.#backoff;
    const base = Math.min(b.maxMs, b.initialMs * b.factor ** this.#failures);
    this.#failures++;
    return base * (1 + b.jitter * this.#random());
  }

  async #listAndReplace(signal: AbortSignal): Promise<void> {
    const items: T[] = [];
    let rv = '';
    let cont: string | undefined;
    let limit: number | undefined = this.#pageSize;
    for (;;) {
      let page: ListResult<T>;
      try {
        page = await this.#lw.list({ limit, continue: cont, signal });
      } catch (err) {
        // An expired continue token: start again with one unpaginated list (client-go pager's
        // FullListIfExpired) rather than failing the whole relist.
        if (cont !== undefined && isGone(err)) {
          items.length = 0;
          cont = undefined;
          limit = undefined;
          continue;
        }
        throw err;
      }
      // Transformed page by page, so a list of thousands never holds them all untransformed.
      for (const raw of page.items) {
        const obj = this.#safeTransform(raw);
        if (obj) items.push(obj);
      }
      rv = page.resourceVersion;
      cont = page.continue || undefined;
      if (cont === undefined) break;
    }
    if (signal.aborted) return;
    this.#replace(items);
    this.#listed(rv);
  }

  /** The API server answered a list or opened a watch: whatever failed before works again. */
  #recovered(): void {
    if (this.#failingSince === undefined) return;
    this.#log.info({ failedForMs: this.#clock.now() - this.#failingSince }, 'list/watch works again');
    this.#failingSince = undefined;
    this.#lastFailure = undefined;
    this.#notifyFailureObservers('recovered');
  }

  #notifyFailureObservers(kind: 'failed', err: unknown): void;
  #notifyFailureObservers(kind: 'recovered'): void;
  #notifyFailureObservers(kind: keyof FailureObserver, err?: unknown): void {
    for (const observer of this.#failureObservers) {
      try {
        if (kind === 'failed') observer.failed?.(err);
        else observer.recovered?.();
      } catch (observerErr) {
        this.#log.error({ err: observerErr }, 'failure observer threw; continuing');
      }
    }
  }

  /** The cache holds a full, current state as of `resourceVersion`. */
  #listed(resourceVersion: string): void {
    this.#needList = false;
    this.#resourceVersion = resourceVersion;
    this.#lastListAt = this.#lastActivity = this.#clock.now();
    this.#recovered();
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncWaiters.splice(0)) w();
    }
  }

  /** Replaces the store with a full list of transformed objects, emitting the differences. */
  #replace(items: T[]): void {
    const fresh = new Map<string, T>();
    for (const obj of items) fresh.set(objectKey(obj), obj);
    for (const [key, old] of [...this.#store]) {
      if (!fresh.has(key)) {
        this.#remove(key, old);
        this.#emit('onDelete', old);
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.#store.get(key);
      if (!old) {
        this.#put(key, obj);
        this.#emit('onAdd', obj);
      } else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) {
        this.#put(key, obj);
        this.#emit('onUpdate', old, obj);
      }
    }
  }

  #watchTimeout(): number {
    if (this.#watchTimeoutSeconds !== undefined) return this.#watchTimeoutSeconds;
    const stale = this.#staleAfterMs / 1000;
    return Math.max(1, Math.floor(stale * (0.5 + 0.4 * this.#random())));
  }

  /**
   * One watch stream, until the server or the watchdog ends it. With initialEvents it first
   * receives the current state, which replaces the cache once the initial-events-end bookmark
   * arrives; a stream that ends before that is a failure (the state it sent is incomplete).
   */
  async #watchOnce(outer: AbortSignal, { initialEvents }: { initialEvents: boolean }): Promise<void> {
    let initial = initialEvents ? new Map<string, T>() : undefined;
    const ac = new AbortController();
    const onOuterAbort = (): void => ac.abort(outer.reason);
    outer.addEventListener('abort', onOuterAbort, { once: true });

    let failure: Error | undefined;
    let watchdog: Timer | undefined;
    let events = 0;
    const fail = (err: Error): void => {
      if (failure) return;
      failure = err;
      ac.abort(err);
    };
    const touch = (): void => {
      this.#lastActivity = this.#clock.now();
      this.#clock.clearTimeout(watchdog);
      watchdog = this.#clock.setTimeout(
        () => fail(new StaleWatchError(`no watch activity for ${this.#staleAfterMs} ms`)),
        this.#staleAfterMs,
      );
    };

    const startedAt = this.#clock.now();
    touch();
    try {
      await this.#lw.watch(
        {
          resourceVersion: initialEvents ? '' : this.#resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: this.#watchTimeout(),
          ...(initialEvents ? { sendInitialEvents: true } : {}),
          signal: ac.signal,
          onOpen: () => this.#recovered(),
        },
        (e) => {
          // A stream may deliver buffered events after we gave up on it; they must not
          // touch a cache that is about to be relisted.
          if (failure || ac.signal.aborted) return;
          events++;
          touch();
          try {
            if (!initial) this.#handleEvent(e);
            else if (this.#collectInitial(initial, e)) initial = undefined;
          } catch (err) {
            fail(err instanceof Error ? err : new Error(String(err)));
          }
        },
      );
    } catch (err) {
      if (!failure && !outer.aborted) throw err;
    } finally {
      this.#clock.clearTimeout(watchdog);
      outer.removeEventListener('abort', onOuterAbort);
    }
    if (failure) throw failure;
    if (outer.aborted) return;
    if (events === 0 && this.#clock.now() - startedAt < SHORT_WATCH_MS) {
      throw new Error('very short watch: the server closed the stream at once with no events');
    }
    if (initial) throw new Error(`the stream ended after ${initial.size} of its initial events, before the initial-events-end bookmark`);
  }

  /** One event of a stream's initial state; true once that state is complete and cached. */
  #collectInitial(initial: Map<string, T>, e: WatchEvent<T>): boolean {
    if (e.type === 'ERROR') {
      this.#handleEvent(e); // throws
      return false;
    }
    if (e.type === 'BOOKMARK') {
      if (e.object.metadata.annotations?.[initialEventsEnd] !== 'true') return false;
      this.#replace([...initial.values()]);
      this.#listed(e.object.metadata.resourceVersion ?? '');
      return true;
    }
    if (!e.object?.metadata?.name) return false;
    if (e.type === 'DELETED') initial.delete(objectKey(e.object));
    else {
      const obj = this.#safeTransform(e.object);
      if (obj) initial.set(objectKey(obj), obj);
    }
    return false;
  }

  #handleEvent(e: WatchEvent<T>): void {
    if (e.type === 'ERROR') {
      const { code, reason, message } = e.status;
      if (code === 410 || reason === 'Expired' || reason === 'Gone') throw new GoneError(message ?? 'resourceVersion expired');
      throw Object.assign(new Error(`watch error event: ${code ?? ''} ${reason ?? ''} ${message ?? ''}`.trim()), { status: code });
    }
    const rv = e.object?.metadata?.resourceVersion;
    if (e.type === 'BOOKMARK') {
      if (rv) this.#resourceVersion = rv;
      return;
    }
    if (!e.object?.metadata?.name) {
      this.#log.warn({ type: e.type }, 'ignoring watch event without metadata.name');
      return;
    }
    if (e.type === 'DELETED') {
      const key = objectKey(e.object);
      const old = this.#store.get(key);
      // Emit the cached state when we have it: it went through the transform, the event
      // object did not.
      const last = old ?? this.#safeTransform(e.object);
      if (old) this.#remove(key, old);
      if (last) this.#emit('onDelete', last);
    } else {
      const obj = this.#safeTransform(e.object);
      if (obj) {
        const key = objectKey(obj);
        const old = this.#store.get(key);
        this.#put(key, obj);
        if (old) this.#emit('onUpdate', old, obj);
        else this.#emit('onAdd', obj);
      }
    }
    if (rv) this.#resourceVersion = rv;
  }

  #safeTransform(obj: T): T | undefined {
    try {
      return this.#interner.internValues(this.#transform(obj));
    } catch (err) {
      this.#log.error({ err, key: objectKey(obj) }, 'transform failed; object not cached');
      return undefined;
    }
  }

  #put(objKey: string, obj: T): void {
    const key = this.#interner.intern(objKey);
    const old = this.#store.get(key);
    if (old) this.#unindex(key, old);
    this.#store.set(key, obj);
    for (const [name, fn] of Object.entries(this.#indexers)) {
      const index = this.#indices.get(name)!;
      for (const value of this.#indexValues(name, fn, obj)) {
        let keys = index.get(value);
        if (!keys) index.set(value, (keys = new Set()));
        keys.add(key);
      }
    }
  }

  #remove(key: string, old: T): void {
    this.#unindex(key, old);
    this.#store.delete(key);
  }

  #unindex(key: string, obj: T): void {
    for (const [name, fn] of Object.entries(this.#indexers)) {
      const index = this.#indices.get(name)!;
      for (const value of this.#indexValues(name, fn, obj)) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }

  #indexValues(name: string, fn: IndexFunc<T>, obj: T): string[] {
    try {
      return fn(obj);
    } catch (err) {
      this.#log.error({ err, index: name, key: objectKey(obj) }, 'index function failed');
      return [];
    }
  }

  #emit(kind: 'onAdd' | 'onDelete', obj: T): void;
  #emit(kind: 'onUpdate', oldObj: T, newObj: T): void;
  #emit(kind: keyof EventHandler<T>, a: T, b?: T): void {
    for (const h of this.#handlers) this.#call(h, kind, a, b);
  }

  #call(h: EventHandler<T>, kind: keyof EventHandler<T>, a: T, b?: T): void {
    try {
      const r: unknown = kind === 'onUpdate' ? h.onUpdate?.(a, b!) : h[kind]?.(a);
      // Handlers are typed sync, but an async one must not become an unhandled rejection.
      if (r instanceof Promise) r.catch((err: unknown) => this.#handlerFailed(err, kind, b ?? a));
    } catch (err) {
      this.#handlerFailed(err, kind, b ?? a);
    }
  }

  #handlerFailed(err: unknown, kind: string, obj: T): void {
    this.#log.error({ err, handler: kind, key: objectKey(obj) }, 'event handler threw; continuing');
  }
}

/** Two list/watch errors of one kind: the same class, HTTP status and reason. */
function sameFailure(a: unknown, b: unknown): boolean {
  if (!(a instanceof Error) || !(b instanceof Error)) return false;
  const { status: statusA, reason: reasonA } = a as { status?: unknown; reason?: unknown };
  const { status: statusB, reason: reasonB } = b as { status?: unknown; reason?: unknown };
  return a.constructor === b.constructor && statusA === statusB && reasonA === reasonB;
}

export function isGone(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { status?: unknown }).status === 410;
}
