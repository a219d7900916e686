import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from './clock.ts';
import {
  Controller,
  enqueueControllerOwner,
  generationChangedPredicate,
  groupOf,
  isPanic,
  TerminalError,
  type ControllerOptions,
  type ReconcileContext,
  type Request,
  type Result,
} from './controller.ts';
import { FakeListWatcher } from './fakes.ts';
import { Informer, type KubeObject } from './informer.ts';
import { MemoryLogger } from './logger.ts';
import { ItemExponentialFailureRateLimiter } from './ratelimiter.ts';

type Call = { req: Request; ctx: ReconcileContext };

/** A reconciler whose behaviour each test scripts; records calls and lets tests await them. */
class ScriptedReconciler {
  readonly calls: Call[] = [];
  behaviour: (req: Request, ctx: ReconcileContext, n: number) => Promise<Result> = async () => ({});
  #waiters: Array<(c: Call) => void> = [];

  reconcile = (req: Request, ctx: ReconcileContext): Promise<Result> => {
    const call = { req, ctx };
    this.calls.push(call);
    for (const w of this.#waiters.splice(0)) w(call);
    return this.behaviour(req, ctx, this.calls.length);
  };

  nextCall(): Promise<Call> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  keys(): string[] {
    return this.calls.map((c) => `${c.req.namespace}/${c.req.name}`);
  }
}

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const owner = { apiVersion: 'ai.openai.com/v1', kind: 'AIModel' };
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: Partial<ControllerOptions> = {}) {
  const clock = new FakeClock(0);
  const log = new MemoryLogger();
  const primaryLW = new FakeListWatcher<KubeObject>();
  const ownedLW = new FakeListWatcher<KubeObject>();
  const mk = (name: string, lw: FakeListWatcher<KubeObject>) =>
    new Informer<KubeObject>({ name, listWatcher: lw, clock, staleAfterMs: 86_400_000, watchTimeoutSeconds: 300 });
  const primary = mk('aimodels', primaryLW);
  const owned = mk('deployments', ownedLW);
  const reconciler = new ScriptedReconciler();
  let ids = 0;
  const controller = new Controller({
    name: 'aimodel',
    reconciler,
    clock,
    logger: log,
    rateLimiter: new ItemExponentialFailureRateLimiter(5, 1_000_000),
    random: () => 0.5,
    reconcileIdGenerator: () => `rid${++ids}`,
    ...opts,
  });
  controller.watchPrimary(primary).watch(owned, enqueueControllerOwner({ group: 'ai.openai.com', kind: 'AIModel' }));
  const informersAC = new AbortController();
  const ctrlAC = new AbortController();
  const runs: Promise<void>[] = [];
  const startInformers = () => {
    runs.push(primary.start(informersAC.signal), owned.start(informersAC.signal));
  };
  let ctrlRun: Promise<void> | undefined;
  const startController = () => (ctrlRun = controller.start(ctrlAC.signal));
  cleanups.push(async () => {
    ctrlAC.abort();
    reconciler.behaviour = async () => ({});
    await ctrlRun?.catch(() => {});
    informersAC.abort();
    await Promise.all(runs);
  });
  return { clock, log, primaryLW, ownedLW, primary, owned, reconciler, controller, startInformers, startController, ctrlAC };
}

const model = (name: string, generation = 1): KubeObject => ({ metadata: { namespace: 'ns', name, uid: `uid-${name}`, generation } });
const child = (name: string, ownerName: string | undefined, ref: Partial<typeof owner & { controller: boolean }> = {}): KubeObject => ({
  metadata: {
    namespace: 'ns',
    name,
    ownerReferences: ownerName
      ? [{ ...owner, name: ownerName, uid: `uid-${ownerName}`, controller: true, ...ref }]
      : undefined,
  },
});

describe('Controller', () => {
  it('reconciles primary objects once caches sync, with reconcileID in the log bindings', async () => {
    const t = await setup();
    t.primaryLW.upsert(model('m1'));
    t.startInformers();
    const first = t.reconciler.nextCall();
    t.startController();
    const call = await first;
    expect(call.req).toEqual({ namespace: 'ns', name: 'm1' });
    call.ctx.log.info({}, 'hello');
    expect(t.log.records.at(-1)?.obj).toMatchObject({ controller: 'aimodel', namespace: 'ns', name: 'm1', reconcileID: 'rid1' });
  });

  it('maps owned-object events to the controller owner key (group+kind match, controller refs only)', async () => {
    const t = await setup();
    t.startInformers();
    t.startController();
    await t.owned.waitForSync();
    await t.primary.waitForSync();
    await flushMicrotasks();

    t.ownedLW.upsert(child('d1', 'owner-a'));
    t.ownedLW.upsert(child('d2', 'owner-b', { controller: false })); // not the controller
    t.ownedLW.upsert(child('d3', 'owner-c', { apiVersion: 'other.io/v1' })); // other group
    t.ownedLW.upsert(child('d4', 'owner-d', { kind: 'Other' }));
    t.ownedLW.upsert(child('d5', undefined));
    await flushMicrotasks();
    expect(t.reconciler.keys()).toEqual(['ns/owner-a']);

    // Re-parenting reaches both the old and the new owner.
    t.ownedLW.upsert(child('d1', 'owner-z'));
    await flushMicrotasks();
    expect(t.reconciler.keys().slice(1).sort()).toEqual(['ns/owner-a', 'ns/owner-z']);

    t.ownedLW.remove('ns/d1');
    await flushMicrotasks();
    expect(t.reconciler.keys().at(-1)).toBe('ns/owner-z');
  });

  it('never runs two reconciles for one key at once, even with several workers', async () => {
    const t = await setup({ workers: 3 });
    t.primaryLW.upsert(model('a'));
    t.primaryLW.upsert(model('b'));
    const gates = new Map<string, ReturnType<typeof deferred<void>>>();
    const active = new Map<string, number>();
    let maxSameKey = 0;
    let maxTotal = 0;
    t.reconciler.behaviour = async (req) => {
      active.set(req.name, (active.get(req.name) ?? 0) + 1);
      maxSameKey = Math.max(maxSameKey, active.get(req.name)!);
      maxTotal = Math.max(maxTotal, [...active.values()].reduce((x, y) => x + y, 0));
      const gate = deferred();
      gates.set(req.name, gate);
      await gate.promise;
      active.set(req.name, active.get(req.name)! - 1);
      return {};
    };
    t.startInformers();
    t.startController();
    while (t.reconciler.calls.length < 2) await t.reconciler.nextCall();

    // Burst of events for 'a' while it is being reconciled.
    for (let i = 0; i < 5; i++) t.primaryLW.upsert(model('a', 2 + i));
    await flushMicrotasks();
    expect(t.reconciler.calls).toHaveLength(2);
    expect(t.controller.queue.len()).toBe(0);

    const again = t.reconciler.nextCall();
    gates.get('a')!.resolve();
    expect((await again).req.name).toBe('a'); // coalesced into exactly one more reconcile
    gates.get('a')!.resolve();
    gates.get('b')!.resolve();
    await flushMicrotasks();
    expect(t.reconciler.keys()).toEqual(['ns/a', 'ns/b', 'ns/a']);
    expect(maxSameKey).toBe(1);
    expect(maxTotal).toBe(2);
  });

  it('requeues a failed reconcile with per-key exponential backoff and forgets on success', async () => {
    const t = await setup();
    t.primaryLW.upsert(model('m'));
    t.reconciler.behaviour = async (_req, _ctx, n) => {
      if (n <= 3) throw new Error(`transient ${n}`);
      return {};
    };
    t.startInformers();
    t.startController();
    await t.reconciler.nextCall();
    for (const delay of [5, 10, 20]) {
      await t.clock.advanceAsync(delay - 1);
      const before = t.reconciler.calls.length;
      expect(before).toBe(Math.log2(delay / 5) + 1);
      await t.clock.advanceAsync(1);
      expect(t.reconciler.calls.length).toBe(before + 1);
    }
    await flushMicrotasks();
    expect(t.controller.queue.numRequeues('ns/m')).toBe(0);
    expect(t.log.records.filter((r) => r.msg === 'Reconciler error')).toHaveLength(3);
  });

  it('does not requeue a TerminalError (also when wrapped as a cause)', async () => {
    const t = await setup();
    t.primaryLW.upsert(model('m'));
    t.primaryLW.upsert(model('w'));
    t.reconciler.behaviour = async (req) => {
      if (req.name === 'm') throw new TerminalError('spec is invalid');
      throw new Error('wrapper', { cause: new TerminalError('inner') });
    };
    t.startInformers();
    t.startController();
    while (t.reconciler.calls.length < 2) await t.reconciler.nextCall();
    await t.clock.advanceAsync(3_600_000);
    expect(t.reconciler.calls).toHaveLength(2);
    expect(t.clock.pendingDelays().filter((d) => d < 300_000)).toEqual([]);
  });

  it('honours retryAfterMs but never retries sooner than the rate limiter would', async () => {
    const t = await setup();
    t.primaryLW.upsert(model('m'));
    t.reconciler.behaviour = async (_req, _ctx, n) => {
      if (n === 1) throw Object.assign(new Error('429 Too Many Requests'), { retryAfterMs: 3000 });
      if (n === 2) throw Object.assign(new Error('429 again'), { retryAfterMs: 0 });
      return {};
    };
    t.startInformers();
    t.startController();
    await t.reconciler.nextCall();
    await t.clock.advanceAsync(2999);
    expect(t.reconciler.calls).toHaveLength(1);
    await t.clock.advanceAsync(1);
    expect(t.reconciler.calls).toHaveLength(2);
    // Retry-After 0 with two failures on record: the limiter's 10 ms wins.
    await t.clock.advanceAsync(9);
    expect(t.reconciler.calls).toHaveLength(2);
    await t.clock.advanceAsync(1);
    expect(t.reconciler.calls).toHaveLength(3);
  });

  it('requeueAfterMs schedules exactly that delay and resets backoff', async () => {
    const t = await setup();
    t.primaryLW.upsert(model('m'));
    t.reconciler.behaviour = async (_r, _c, n) => {
      if (n === 1) throw new Error('fail once');
      return n === 2 ? { requeueAfterMs: 60_000 } : {};
    };
    t.startInformers();
    t.startController();
    await t.reconciler.nextCall();
    await t.clock.advanceAsync(5);
    expect(t.reconciler.calls).toHaveLength(2);
    expect(t.controller.queue.numRequeues('ns/m')).toBe(0);
    await t.clock.advanceAsync(59_999);
    expect(t.reconciler.calls).toHaveLength(2);
    await t.clock.advanceAsync(1);
    expect(t.reconciler.calls).toHaveLength(3);
  });

  it('periodic resync enqueues every primary key (10 h ± 10% jitter)', async () => {
    const t = await setup({ random: () => 1 }); // upper end of the jitter: 11 h
    t.primaryLW.upsert(model('a'));
    t.primaryLW.upsert(model('b'));
    t.ownedLW.upsert(child('d', 'a'));
    t.startInformers();
    t.startController();
    while (t.reconciler.calls.length < 2) await t.reconciler.nextCall();
    await flushMicrotasks();
    const initial = t.reconciler.calls.length;
    await t.clock.advanceAsync(11 * 3_600_000 - 1);
    expect(t.reconciler.calls).toHaveLength(initial);
    await t.clock.advanceAsync(1);
    expect(t.reconciler.keys().slice(initial).sort()).toEqual(['ns/a', 'ns/b']);
  });

  it('update predicate filters status-only updates of the primary', async () => {
    const t = await setup();
    const c = new Controller({ name: 'p', reconciler: t.reconciler, clock: t.clock });
    c.watchPrimary(t.primary, { updatePredicate: generationChangedPredicate });
    t.primaryLW.upsert(model('m', 1));
    t.startInformers();
    const ac = new AbortController();
    const run = c.start(ac.signal);
    await t.reconciler.nextCall();
    t.primaryLW.upsert({ ...model('m', 1), metadata: { ...model('m', 1).metadata, labels: { x: 'y' } } });
    await flushMicrotasks();
    expect(t.reconciler.calls).toHaveLength(1);
    t.primaryLW.upsert(model('m', 2));
    await flushMicrotasks();
    expect(t.reconciler.calls).toHaveLength(2);
    ac.abort();
    await run;
  });

  it('stop() drains: in-flight reconciles finish, nothing new starts, start() resolves', async () => {
    const t = await setup({ workers: 2 });
    t.primaryLW.upsert(model('a'));
    t.primaryLW.upsert(model('b'));
    t.primaryLW.upsert(model('c'));
    const gate = deferred();
    t.reconciler.behaviour = async () => {
      await gate.promise;
      return {};
    };
    t.startInformers();
    const run = t.startController();
    while (t.reconciler.calls.length < 2) await t.reconciler.nextCall();

    let stopped = false;
    const stop = t.controller.stop().then(() => (stopped = true));
    let ended = false;
    void run.then(() => (ended = true));
    await flushMicrotasks();
    expect(stopped).toBe(false);
    expect(t.reconciler.calls.every((c) => !c.ctx.signal.aborted)).toBe(true); // drain, not cancel
    gate.resolve();
    await stop;
    await run;
    expect(ended).toBe(true);
    expect(t.reconciler.calls).toHaveLength(2); // 'c' was never started
  });

  it('aborting the start signal drains; cancel() aborts in-flight reconcile signals', async () => {
    const t = await setup();
    t.primaryLW.upsert(model('a'));
    t.reconciler.behaviour = (_req, ctx) =>
      new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
    t.startInformers();
    const run = t.startController();
    const call = await t.reconciler.nextCall();
    t.ctrlAC.abort();
    await flushMicrotasks();
    expect(call.ctx.signal.aborted).toBe(false);
    t.controller.cancel(new Error('leader election lost'));
    await run;
    expect(call.ctx.signal.aborted).toBe(true);
  });

  it('start() rejects when caches do not sync within cacheSyncTimeoutMs', async () => {
    const t = await setup({ cacheSyncTimeoutMs: 1000 });
    // Informers never started: caches cannot sync.
    const run = t.startController();
    const outcome = run.then(
      () => 'resolved',
      (e: Error) => e.message,
    );
    await t.clock.advanceAsync(1000);
    expect(await outcome).toMatch(/timed out after 1000 ms waiting for caches to sync: aimodels, deployments/);
  });
});

describe('helpers', () => {
  it('groupOf, isPanic', () => {
    expect(groupOf('apps/v1')).toBe('apps');
    expect(groupOf('v1')).toBe('');
    expect(isPanic(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe(true);
    expect(isPanic(new TypeError('fetch failed', { cause: new Error('ECONNREFUSED') }))).toBe(false);
    expect(isPanic('a string')).toBe(true);
    expect(isPanic(new Error('plain'))).toBe(false);
  });
});
