// In-memory fakes of the runtime's injected interfaces, for unit tests of generic logic.
// Real API-server behaviour is covered by integration tests.
import { objectKey, type KubeObject, type ListResult, type ListWatcher, type WatchEvent } from './informer.ts';
import type { Lease, LeaseStore } from './leaderelection.ts';

export function httpError(status: number, message = `HTTP ${status}`): Error & { status: number } {
  return Object.assign(new Error(message), { status });
}

export interface FakeWatch<T> {
  opts: { resourceVersion: string; allowWatchBookmarks: boolean; timeoutSeconds: number; sendInitialEvents: boolean };
  signal: AbortSignal;
  emit(e: WatchEvent<T>): void;
  /** Server closes the stream cleanly. */
  close(): void;
  /** Transport/HTTP failure. */
  fail(err: Error): void;
  readonly ended: boolean;
}

type Waiter<V> = (v: V) => void;

/** A tiny "API server" for one kind: holds objects, pages lists, streams changes to open watches. */
export class FakeListWatcher<T extends KubeObject> implements ListWatcher<T> {
  readonly objects = new Map<string, T>();
  readonly listCalls: Array<{ limit?: number; continue?: string }> = [];
  readonly watches: FakeWatch<T>[] = [];
  #rv = 100;
  #listFailures: Error[] = [];
  #watchFailures: Error[] = [];
  #listWaiters: Waiter<number>[] = [];
  #watchWaiters: Waiter<FakeWatch<T>>[] = [];

  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** Stores the object with a fresh resourceVersion and streams ADDED/MODIFIED to open watches. */
  upsert(obj: T): T {
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.#rv) } };
    const key = objectKey(stored);
    const type = this.objects.has(key) ? 'MODIFIED' : 'ADDED';
    this.objects.set(key, stored);
    this.#broadcast({ type, object: stored });
    return stored;
  }

  /** Changes server state without telling watchers (as if the event were lost). */
  upsertSilently(obj: T): T {
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.#rv) } };
    this.objects.set(objectKey(stored), stored);
    return stored;
  }

  remove(key: string, opts: { silently?: boolean } = {}): void {
    const old = this.objects.get(key);
    if (!old) return;
    this.objects.delete(key);
    const object = { ...old, metadata: { ...old.metadata, resourceVersion: String(++this.#rv) } };
    if (!opts.silently) this.#broadcast({ type: 'DELETED', object });
  }

  failNextList(err: Error): void {
    this.#listFailures.push(err);
  }

  failNextWatch(err: Error): void {
    this.#watchFailures.push(err);
  }

  /** Resolves with the call count when the next list call arrives (the call has been recorded). */
  nextList(): Promise<number> {
    return new Promise((resolve) => this.#listWaiters.push(resolve));
  }

  nextWatch(): Promise<FakeWatch<T>> {
    return new Promise((resolve) => this.#watchWaiters.push(resolve));
  }

  currentWatch(): FakeWatch<T> | undefined {
    const w = this.watches.at(-1);
    return w && !w.ended ? w : undefined;
  }

  async list(opts: { limit?: number; continue?: string; signal: AbortSignal }): Promise<ListResult<T>> {
    this.listCalls.push({ limit: opts.limit, continue: opts.continue });
    for (const w of this.#listWaiters.splice(0)) w(this.listCalls.length);
    const failure = this.#listFailures.shift();
    if (failure) throw failure;
    const all = [...this.objects.values()].sort((a, b) => objectKey(a).localeCompare(objectKey(b)));
    const start = opts.continue ? Number(opts.continue) : 0;
    const end = opts.limit ? start + opts.limit : all.length;
    return {
      items: all.slice(start, end),
      resourceVersion: String(this.#rv),
      continue: end < all.length ? String(end) : undefined,
    };
  }

  /** Like an API server without WatchList: a watch with sendInitialEvents is refused (422). */
  refuseInitialEvents = false;
  /** When false, a watch with sendInitialEvents sends nothing by itself (the test emits). */
  autoInitialEvents = true;

  watch(
    opts: { resourceVersion: string; allowWatchBookmarks: boolean; timeoutSeconds: number; sendInitialEvents?: boolean; signal: AbortSignal },
    onEvent: (e: WatchEvent<T>) => void,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      let ended = false;
      const end = (fn: () => void): void => {
        if (ended) return;
        ended = true;
        opts.signal.removeEventListener('abort', onAbort);
        fn();
      };
      const onAbort = (): void => end(() => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })));
      const handle: FakeWatch<T> = {
        opts: {
          resourceVersion: opts.resourceVersion,
          allowWatchBookmarks: opts.allowWatchBookmarks,
          timeoutSeconds: opts.timeoutSeconds,
          sendInitialEvents: opts.sendInitialEvents ?? false,
        },
        signal: opts.signal,
        emit: (e) => {
          if (!ended) onEvent(e);
        },
        close: () => end(resolve),
        fail: (err) => end(() => reject(err)),
        get ended() {
          return ended;
        },
      };
      this.watches.push(handle);
      const failure = this.#watchFailures.shift() ?? (opts.sendInitialEvents && this.refuseInitialEvents ? httpError(422, 'sendInitialEvents is forbidden') : undefined);
      if (failure) {
        handle.fail(failure);
      } else if (opts.signal.aborted) {
        onAbort();
      } else {
        opts.signal.addEventListener('abort', onAbort, { once: true });
      }
      if (opts.sendInitialEvents && !ended && this.autoInitialEvents) {
        // The state as of now, then the bookmark that ends it, as the API server streams them.
        const all = [...this.objects.values()].sort((a, b) => objectKey(a).localeCompare(objectKey(b)));
        for (const object of all) handle.emit({ type: 'ADDED', object });
        handle.emit({ type: 'BOOKMARK', object: { metadata: { name: '', resourceVersion: this.resourceVersion, annotations: { 'k8s.io/initial-events-end': 'true' } } } as unknown as T });
      }
      for (const w of this.#watchWaiters.splice(0)) w(handle);
    });
  }

  #broadcast(e: WatchEvent<T>): void {
    for (const w of this.watches) if (!w.ended) w.emit(e);
  }
}

/** A Lease endpoint with resourceVersion-guarded updates. */
export class FakeLeaseStore implements LeaseStore {
  lease: Lease | undefined;
  readonly calls: Array<'get' | 'create' | 'update'> = [];
  #rv = 1;
  #failures: Array<{ op: 'get' | 'create' | 'update'; err: Error }> = [];
  #blocked: Array<() => void> | undefined;

  /** Calls abandoned through their signal while they hung. */
  abandoned = 0;

  get(signal?: AbortSignal): Promise<Lease | undefined> {
    return this.#op('get', () => (this.lease ? structuredClone(this.lease) : undefined), signal);
  }

  create(l: Lease, signal?: AbortSignal): Promise<Lease> {
    return this.#op('create', () => {
      if (this.lease) throw httpError(409, 'already exists');
      this.lease = { ...structuredClone(l), metadata: { ...l.metadata, resourceVersion: String(++this.#rv) } };
      return structuredClone(this.lease);
    }, signal);
  }

  update(l: Lease, signal?: AbortSignal): Promise<Lease> {
    return this.#op('update', () => {
      if (!this.lease) throw httpError(404, 'not found');
      if (l.metadata.resourceVersion !== this.lease.metadata.resourceVersion) throw httpError(409, 'conflict');
      this.lease = { ...structuredClone(l), metadata: { ...l.metadata, resourceVersion: String(++this.#rv) } };
      return structuredClone(this.lease);
    }, signal);
  }

  /** Another client writes the lease directly (bumps resourceVersion). */
  write(spec: Lease['spec']): void {
    this.lease = {
      metadata: { name: 'lease', namespace: 'ns', ...this.lease?.metadata, resourceVersion: String(++this.#rv) },
      spec: structuredClone(spec),
    };
  }

  failNext(op: 'get' | 'create' | 'update', err: Error): void {
    this.#failures.push({ op, err });
  }

  /** Until unblock() is called, every call hangs (an unresponsive API server). */
  block(): () => void {
    this.#blocked = [];
    return () => {
      const pending = this.#blocked ?? [];
      this.#blocked = undefined;
      for (const run of pending) run();
    };
  }

  #op<V>(op: 'get' | 'create' | 'update', fn: () => V, signal?: AbortSignal): Promise<V> {
    this.calls.push(op);
    const run = (): Promise<V> => {
      const i = this.#failures.findIndex((f) => f.op === op);
      if (i >= 0) {
        const [f] = this.#failures.splice(i, 1);
        return Promise.reject(f!.err);
      }
      try {
        return Promise.resolve(fn());
      } catch (err) {
        return Promise.reject(err);
      }
    };
    const blocked = this.#blocked;
    if (!blocked) return run();
    // A hung call stays hung (and never reaches the store) once its caller abandons it.
    return new Promise((resolve, reject) => {
      let abandoned = false;
      signal?.addEventListener('abort', () => {
        abandoned = true;
        this.abandoned++;
        reject(signal.reason);
      }, { once: true });
      blocked.push(() => {
        if (!abandoned) run().then(resolve, reject);
      });
    });
  }
}
