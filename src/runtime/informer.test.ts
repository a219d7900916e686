import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from './clock.ts';
import { FakeListWatcher, httpError } from './fakes.ts';
import { byControllerUID, Informer, type InformerOptions, type KubeObject } from './informer.ts';
import { MemoryLogger } from './logger.ts';

type Obj = KubeObject & { spec?: { v?: number; secret?: string } };

function obj(name: string, extra: Partial<Obj['metadata']> = {}, spec?: Obj['spec']): Obj {
  return { metadata: { namespace: 'ns', name, ...extra }, ...(spec ? { spec } : {}) };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function setup(opts: Partial<InformerOptions<Obj>> = {}) {
  const clock = new FakeClock(0);
  const lw = new FakeListWatcher<Obj>();
  const log = new MemoryLogger();
  const informer = new Informer<Obj>({
    name: 'things',
    listWatcher: lw,
    clock,
    logger: log,
    random: () => 0,
    indexers: { owner: byControllerUID },
    ...opts,
  });
  const events: string[] = [];
  informer.addEventHandler({
    onAdd: (o) => events.push(`add ${o.metadata.name}`),
    onUpdate: (o, n) => events.push(`update ${n.metadata.name} ${o.metadata.resourceVersion}->${n.metadata.resourceVersion}`),
    onDelete: (o) => events.push(`delete ${o.metadata.name}`),
  });
  const ac = new AbortController();
  let running: Promise<void> | undefined;
  const start = async () => {
    const firstWatch = lw.nextWatch();
    running = informer.start(ac.signal);
    return firstWatch;
  };
  cleanups.push(async () => {
    ac.abort();
    await running;
  });
  return { clock, lw, log, informer, events, ac, start, stopped: () => running };
}

describe('Informer', () => {
  it('lists in pages of 500, emits adds, syncs, then watches from the list resourceVersion with bookmarks', async () => {
    const { lw, informer, events, start } = setup();
    for (let i = 0; i < 1200; i++) lw.upsert(obj(`o${String(i).padStart(4, '0')}`));
    expect(informer.hasSynced()).toBe(false);
    const sync = informer.waitForSync();
    const watch = await start();
    expect(await sync).toBe(true);
    expect(lw.listCalls).toEqual([
      { limit: 500, continue: undefined },
      { limit: 500, continue: '500' },
      { limit: 500, continue: '1000' },
    ]);
    expect(informer.list('ns')).toHaveLength(1200);
    expect(events.filter((e) => e.startsWith('add'))).toHaveLength(1200);
    expect(watch.opts.resourceVersion).toBe(lw.resourceVersion);
    expect(watch.opts.allowWatchBookmarks).toBe(true);
    // Server-side timeout below the 5 min watchdog so quiet streams are recycled by the server.
    expect(watch.opts.timeoutSeconds).toBe(150);
  });

  it('drops managedFields by default and applies a custom transform before storing', async () => {
    const a = setup();
    a.lw.upsert(obj('x', { managedFields: [{ manager: 'kubectl' }] }));
    await a.start();
    expect(a.informer.get('ns', 'x')?.metadata).not.toHaveProperty('managedFields');

    const b = setup({
      transform: (o) => ({ ...o, metadata: { ...o.metadata, managedFields: undefined }, spec: { ...o.spec, secret: undefined } }),
    });
    b.lw.upsert(obj('y', {}, { v: 1, secret: 's3cr3t' }));
    const watch = await b.start();
    expect(b.informer.get('ns', 'y')?.spec?.secret).toBeUndefined();
    watch.emit({ type: 'MODIFIED', object: { ...obj('y', { resourceVersion: '999' }, { v: 2, secret: 'again' }) } });
    expect(b.informer.get('ns', 'y')?.spec).toEqual({ v: 2, secret: undefined });
  });

  it('applies watch events, tracks bookmarks, and re-watches from the last resourceVersion on a clean close', async () => {
    const { clock, lw, informer, events, start } = setup();
    lw.upsert(obj('a'));
    const watch = await start();
    events.length = 0;

    const b = lw.upsert(obj('b'));
    lw.upsert({ ...b, spec: { v: 2 } });
    lw.remove('ns/a');
    expect(events).toEqual([`add b`, `update b ${b.metadata.resourceVersion}->${lw.objects.get('ns/b')!.metadata.resourceVersion}`, 'delete a']);
    expect(informer.get('ns', 'a')).toBeUndefined();
    expect(informer.get('ns', 'b')?.spec?.v).toBe(2);

    watch.emit({ type: 'BOOKMARK', object: { metadata: { name: '', resourceVersion: '5000' } } });
    expect(events).toHaveLength(3); // bookmarks are not object events
    expect(informer.lastResourceVersion()).toBe('5000');

    clock.advance(60_000); // a normal server-side timeout, long after the stream opened
    const next = lw.nextWatch();
    watch.close();
    const rewatch = await next;
    expect(rewatch.opts.resourceVersion).toBe('5000');
    expect(lw.listCalls).toHaveLength(1); // no relist
  });

  it('relists on HTTP 410 Gone: deletes vanished objects, updates only changed ones', async () => {
    const { lw, informer, events, start } = setup();
    lw.upsert(obj('keep'));
    lw.upsert(obj('change'));
    lw.upsert(obj('vanish'));
    const watch = await start();
    events.length = 0;

    // Changes the informer never hears about while its watch is broken.
    lw.upsertSilently({ ...lw.objects.get('ns/change')!, spec: { v: 9 } });
    lw.remove('ns/vanish', { silently: true });
    lw.upsertSilently(obj('new'));

    const relist = lw.nextList();
    const rewatch = lw.nextWatch();
    watch.fail(httpError(410, 'too old resource version'));
    await relist;
    await rewatch;
    const changedRv = lw.objects.get('ns/change')!.metadata.resourceVersion;
    expect(events.sort()).toEqual(['add new', 'delete vanish', expect.stringMatching(new RegExp(`^update change \\d+->${changedRv}$`))]);
    expect(informer.keys().sort()).toEqual(['ns/change', 'ns/keep', 'ns/new']);
    expect(informer.get('ns', 'change')?.spec?.v).toBe(9);
  });

  it('relists on an in-stream ERROR event with code 410', async () => {
    const { lw, events, start } = setup();
    lw.upsert(obj('a'));
    const watch = await start();
    lw.remove('ns/a', { silently: true });
    const relist = lw.nextList();
    const rewatch = lw.nextWatch();
    watch.emit({ type: 'ERROR', status: { code: 410, reason: 'Expired', message: 'too old' } });
    expect(watch.signal.aborted).toBe(true); // we hang up instead of waiting for the server
    await relist;
    const w2 = await rewatch;
    expect(events).toContain('delete a');
    expect(w2.opts.resourceVersion).toBe(lw.resourceVersion);
  });

  it('restarts the watch with exponential backoff (800 ms doubling, capped at 30 s) without relisting', async () => {
    const { clock, lw, start, log } = setup();
    lw.upsert(obj('a'));
    let watch = await start();
    const expected = [800, 1600, 3200, 6400, 12_800, 25_600, 30_000, 30_000];
    for (const delay of expected) {
      const timer = clock.nextTimer();
      const next = lw.nextWatch();
      watch.fail(httpError(500, 'internal error'));
      expect((await timer).delay).toBe(delay);
      await clock.advanceAsync(delay - 1);
      expect(lw.currentWatch()).toBeUndefined();
      await clock.advanceAsync(1);
      watch = await next;
    }
    expect(lw.listCalls).toHaveLength(1);
    expect(log.records.some((r) => r.level === 'warn' && r.msg?.includes('backoff'))).toBe(true);

    // After a healthy period the backoff starts from the beginning again.
    await clock.advanceAsync(121_000);
    const timer = clock.nextTimer();
    watch.fail(httpError(503));
    expect((await timer).delay).toBe(800);
  });

  it('adds jitter on top of the backoff', async () => {
    const { clock, lw, start } = setup({ random: () => 0.5, watchTimeoutSeconds: 60 });
    const watch = await start();
    const timer = clock.nextTimer();
    watch.fail(httpError(500));
    expect((await timer).delay).toBe(800 * 1.1);
    expect(lw.watches[0]!.opts.timeoutSeconds).toBe(60);
  });

  it('retries a failed list with backoff and syncs once it succeeds', async () => {
    const { clock, lw, informer, start } = setup();
    lw.upsert(obj('a'));
    lw.failNextList(httpError(500));
    const timer = clock.nextTimer();
    const watch = start();
    expect((await timer).delay).toBe(800);
    expect(informer.hasSynced()).toBe(false);
    await clock.advanceAsync(800);
    await watch;
    expect(informer.hasSynced()).toBe(true);
    expect(lw.listCalls).toHaveLength(2);
  });

  it('streaming: takes the initial state from a watch with sendInitialEvents, syncs at its end bookmark, and keeps that stream', async () => {
    const { lw, informer, events, start } = setup({ streamingList: true });
    for (let i = 0; i < 1200; i++) lw.upsert(obj(`o${String(i).padStart(4, '0')}`));
    const sync = informer.waitForSync();
    const watch = await start();
    expect(await sync).toBe(true);
    expect(lw.listCalls).toEqual([]);
    expect(watch.opts).toMatchObject({ sendInitialEvents: true, resourceVersion: '', allowWatchBookmarks: true });
    expect(informer.list('ns')).toHaveLength(1200);
    expect(events.filter((e) => e.startsWith('add'))).toHaveLength(1200);
    expect(informer.lastResourceVersion()).toBe(lw.resourceVersion);
    lw.upsert(obj('later'));
    expect(informer.get('ns', 'later')).toBeDefined();
    expect(lw.watches).toHaveLength(1);
  });

  it('streaming: is not synced by a stream that ends before its initial-events-end bookmark, and streams again after a backoff', async () => {
    const { lw, informer, clock, start } = setup({ streamingList: true });
    lw.upsert(obj('a'));
    lw.upsert(obj('b'));
    lw.autoInitialEvents = false;
    const first = await start();
    first.emit({ type: 'ADDED', object: lw.objects.get('ns/a')! });
    const second = lw.nextWatch();
    first.close();
    await flushMicrotasks();
    expect(informer.hasSynced()).toBe(false);
    expect(informer.keys()).toEqual([]);
    lw.autoInitialEvents = true;
    await clock.advanceAsync(2000);
    expect((await second).opts.sendInitialEvents).toBe(true);
    expect(informer.hasSynced()).toBe(true);
    expect(informer.keys().sort()).toEqual(['ns/a', 'ns/b']);
  });

  it('streaming: after its watch fell behind, streams the state again and emits only the differences', async () => {
    const { lw, informer, events, start } = setup({ streamingList: true });
    lw.upsert(obj('keep'));
    lw.upsert(obj('vanish'));
    const watch = await start();
    events.length = 0;
    lw.remove('ns/vanish', { silently: true });
    lw.upsertSilently(obj('new'));
    const rewatch = lw.nextWatch();
    watch.fail(httpError(410, 'too old resource version'));
    expect((await rewatch).opts.sendInitialEvents).toBe(true);
    expect(events.sort()).toEqual(['add new', 'delete vanish']);
    expect(informer.keys().sort()).toEqual(['ns/keep', 'ns/new']);
    expect(lw.listCalls).toEqual([]);
  });

  it('streaming: falls back to paged lists, for good, where the API server refuses sendInitialEvents', async () => {
    const { lw, informer, start } = setup({ streamingList: true });
    lw.refuseInitialEvents = true;
    lw.upsert(obj('a'));
    const refused = await start();
    expect(refused.opts.sendInitialEvents).toBe(true);
    await flushMicrotasks();
    const watch = lw.currentWatch()!;
    expect(informer.hasSynced()).toBe(true);
    expect(lw.listCalls).toHaveLength(1);
    expect(watch.opts.sendInitialEvents).toBe(false);
    const rewatch = lw.nextWatch();
    watch.fail(httpError(410, 'too old resource version'));
    expect((await rewatch).opts.sendInitialEvents).toBe(false);
    expect(lw.listCalls).toHaveLength(2);
  });

  it('falls back to one unpaginated list when the continue token expires', async () => {
    const { lw, informer, start } = setup({ pageSize: 2 });
    for (const n of ['a', 'b', 'c', 'd', 'e']) lw.upsert(obj(n));
    const origList = lw.list.bind(lw);
    let calls = 0;
    lw.list = async (opts) => {
      calls++;
      if (calls === 2) throw httpError(410, 'continue token expired');
      return origList(opts);
    };
    await start();
    expect(informer.keys()).toHaveLength(5);
    expect(lw.listCalls.at(-1)).toEqual({ limit: undefined, continue: undefined });
  });

  it('warns once for a run of like failures, exposes the latest, tells observers, and says when it works again', async () => {
    const { clock, lw, informer, start, log } = setup();
    const seen: string[] = [];
    informer.addFailureObserver({ failed: (err) => seen.push(`failed ${(err as { status: number }).status}`), recovered: () => seen.push('recovered') });
    for (let i = 0; i < 3; i++) lw.failNextList(httpError(404, 'the server could not find the requested resource'));
    lw.failNextList(httpError(503));
    let timer = clock.nextTimer();
    const watching = start();
    for (const delay of [800, 1600, 3200, 6400]) {
      expect((await timer).delay).toBe(delay);
      expect(informer.lastFailure()).toMatchObject({ status: delay === 6400 ? 503 : 404 });
      timer = clock.nextTimer();
      await clock.advanceAsync(delay);
    }
    await watching;
    expect(informer.hasSynced()).toBe(true);
    expect(informer.lastFailure()).toBeUndefined();
    expect(seen).toEqual(['failed 404', 'failed 404', 'failed 404', 'failed 503', 'recovered']);
    const failures = log.records.filter((r) => r.msg?.startsWith('list/watch failed'));
    expect(failures.map((r) => `${r.level} ${(r.obj.err as { status: number }).status}`)).toEqual(['warn 404', 'debug 404', 'debug 404', 'warn 503']);
    expect(log.records.filter((r) => r.msg === 'list/watch works again')).toHaveLength(1);
  });

  it('an observer that throws is logged and does not stop the retries', async () => {
    const { clock, lw, informer, start, log } = setup();
    informer.addFailureObserver({ failed: () => { throw new Error('observer broke'); } });
    lw.failNextList(httpError(404));
    const timer = clock.nextTimer();
    const watching = start();
    await clock.advanceAsync((await timer).delay);
    await watching;
    expect(informer.hasSynced()).toBe(true);
    expect(log.records.some((r) => r.level === 'error' && r.msg === 'failure observer threw; continuing')).toBe(true);
  });

  it('treats a stream that closes at once with no events as an error (backoff, not a hot loop)', async () => {
    const { clock, lw, start } = setup();
    const watch = await start();
    const timer = clock.nextTimer();
    watch.close();
    expect((await timer).delay).toBe(800);
    expect(lw.watches).toHaveLength(1);
  });

  it('watchdog: aborts a silent watch after staleAfterMs and relists', async () => {
    const { clock, lw, start, log } = setup({ staleAfterMs: 60_000 });
    lw.upsert(obj('a'));
    const watch = await start();
    await clock.advanceAsync(59_999);
    lw.upsert(obj('b')); // activity resets the watchdog
    await clock.advanceAsync(59_999);
    expect(watch.signal.aborted).toBe(false);
    expect(lw.listCalls).toHaveLength(1);

    const relist = lw.nextList();
    const rewatch = lw.nextWatch();
    await clock.advanceAsync(1);
    expect(watch.signal.aborted).toBe(true);
    await relist;
    await rewatch;
    expect(lw.listCalls).toHaveLength(2);
    expect(log.records.some((r) => r.msg === 'watch stalled; relisting')).toBe(true);
  });

  it('a throwing or rejecting handler is logged and never breaks the informer or other handlers', async () => {
    const { lw, informer, start, log } = setup();
    informer.addEventHandler({
      onAdd: () => {
        throw new Error('boom');
      },
    });
    informer.addEventHandler({ onUpdate: async () => Promise.reject(new Error('async boom')) });
    const seen: string[] = [];
    informer.addEventHandler({ onAdd: (o) => seen.push(o.metadata.name), onUpdate: (_, n) => seen.push(`u:${n.metadata.name}`) });
    const watch = await start();
    const a = lw.upsert(obj('a'));
    lw.upsert({ ...a, spec: { v: 1 } });
    lw.upsert(obj('b'));
    await flushMicrotasks(); // let the rejected handler promise be caught
    expect(seen).toEqual(['a', 'u:a', 'b']);
    expect(informer.keys().sort()).toEqual(['ns/a', 'ns/b']);
    expect(watch.ended).toBe(false);
    expect(log.records.filter((r) => r.msg === 'event handler threw; continuing')).toHaveLength(3);
  });

  it('replays cached objects as adds to handlers registered after sync', async () => {
    const { lw, informer, start } = setup();
    lw.upsert(obj('a'));
    lw.upsert(obj('b'));
    await start();
    const seen: string[] = [];
    const remove = informer.addEventHandler({ onAdd: (o) => seen.push(o.metadata.name) });
    expect(seen.sort()).toEqual(['a', 'b']);
    remove();
    lw.upsert(obj('c'));
    expect(seen).toHaveLength(2);
  });

  it('maintains indexes across add, update and delete', async () => {
    const { lw, informer, start } = setup();
    const ref = (uid: string) => [{ apiVersion: 'x.io/v1', kind: 'Owner', name: uid, uid, controller: true }];
    lw.upsert(obj('c1', { ownerReferences: ref('u1') }));
    lw.upsert(obj('c2', { ownerReferences: ref('u1') }));
    lw.upsert(obj('c3', { ownerReferences: [{ ...ref('u2')[0]!, controller: false }] }));
    await start();
    expect(informer.byIndex('owner', 'u1').map((o) => o.metadata.name).sort()).toEqual(['c1', 'c2']);
    expect(informer.byIndex('owner', 'u2')).toEqual([]);

    lw.upsert(obj('c2', { ownerReferences: ref('u2') }));
    expect(informer.byIndex('owner', 'u1').map((o) => o.metadata.name)).toEqual(['c1']);
    expect(informer.byIndex('owner', 'u2').map((o) => o.metadata.name)).toEqual(['c2']);
    lw.remove('ns/c1');
    expect(informer.byIndex('owner', 'u1')).toEqual([]);
    expect(() => informer.byIndex('nope', 'x')).toThrow(/no index/);
  });

  it('list(namespace), get, and activity ages', async () => {
    const { clock, lw, informer, start } = setup();
    lw.upsert(obj('a'));
    lw.upsert({ metadata: { namespace: 'other', name: 'b' } });
    lw.upsert({ metadata: { name: 'cluster-scoped' } });
    expect(informer.lastActivityAgeMs()).toBeUndefined();
    await start();
    expect(informer.list()).toHaveLength(3);
    expect(informer.list('other').map((o) => o.metadata.name)).toEqual(['b']);
    expect(informer.get(undefined, 'cluster-scoped')).toBeDefined();
    await clock.advanceAsync(5000);
    expect(informer.lastListAgeMs()).toBe(5000);
    lw.upsert(obj('c'));
    expect(informer.lastActivityAgeMs()).toBe(0);
  });

  it('stop() ends start(); waitForSync resolves false when aborted before sync', async () => {
    const { lw, informer, start, stopped } = setup();
    lw.failNextList(httpError(500));
    const ac = new AbortController();
    const waiting = informer.waitForSync(ac.signal);
    ac.abort();
    expect(await waiting).toBe(false);
    void start();
    await informer.stop();
    await stopped();
    expect(informer.hasSynced()).toBe(false);
  });
});
