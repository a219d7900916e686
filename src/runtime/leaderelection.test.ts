import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from './clock.ts';
import { FakeLeaseStore, httpError } from './fakes.ts';
import { LeaderElector, toMicroTime, type LeaderElectorOptions } from './leaderelection.ts';

const MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function candidate(clock: FakeClock, store: FakeLeaseStore, identity: string, opts: Partial<LeaderElectorOptions> = {}) {
  const status: boolean[] = [];
  const elector = new LeaderElector({
    leaseName: 'lease',
    leaseNamespace: 'ns',
    store,
    identity,
    clock,
    random: () => 0,
    metrics: { setLeader: (name, v) => (expect(name).toBe('lease'), status.push(v)) },
    ...opts,
  });
  const ac = new AbortController();
  const events: string[] = [];
  let leaderSignal: AbortSignal | undefined;
  let onStarted!: () => void;
  const started = new Promise<void>((r) => (onStarted = r));
  let onStopped!: () => void;
  const stoppedP = new Promise<void>((r) => (onStopped = r));
  const run = elector.run(ac.signal, {
    onStartedLeading: (s) => {
      leaderSignal = s;
      events.push('started');
      onStarted();
    },
    onStoppedLeading: () => {
      events.push('stopped');
      onStopped();
    },
  });
  cleanups.push(async () => {
    ac.abort();
    await run;
  });
  return { elector, ac, events, status, run, started, stopped: stoppedP, leaderSignal: () => leaderSignal };
}

describe('toMicroTime', () => {
  it('formats RFC3339 with exactly six fractional digits', () => {
    expect(toMicroTime(Date.UTC(2025, 0, 2, 3, 4, 5, 678))).toBe('2025-01-02T03:04:05.678000Z');
    expect(toMicroTime(Date.UTC(2025, 0, 2, 3, 4, 5, 0))).toBe('2025-01-02T03:04:05.000000Z');
    expect(toMicroTime(Date.UTC(2025, 0, 2) + 1.5)).toBe('2025-01-02T00:00:00.001500Z');
    expect(toMicroTime(Date.UTC(2025, 0, 2) + 0.9999)).toMatch(MICRO);
  });
});

describe('LeaderElector', () => {
  it('creates a missing lease and leads; renews every retry period', async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const store = new FakeLeaseStore();
    const c = candidate(clock, store, 'me');
    await c.started;
    expect(c.elector.isLeader()).toBe(true);
    expect(c.status).toEqual([false, true]);
    const created = store.lease!;
    expect(created.spec).toMatchObject({ holderIdentity: 'me', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(created.spec.acquireTime).toMatch(MICRO);
    expect(created.spec.renewTime).toBe(created.spec.acquireTime);

    await clock.advanceAsync(1999);
    expect(store.lease!.spec.renewTime).toBe(created.spec.renewTime);
    await clock.advanceAsync(1);
    expect(store.lease!.spec.renewTime).toBe(toMicroTime(clock.now()));
    expect(store.lease!.spec.acquireTime).toBe(created.spec.acquireTime);
    await clock.advanceAsync(20_000);
    expect(c.elector.isLeader()).toBe(true);
    expect(store.lease!.spec.leaseTransitions).toBe(0);
  });

  it('waits while another holder renews, takes over once the lease expires (by local observation), counting a transition', async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const store = new FakeLeaseStore();
    const t0 = toMicroTime(clock.now());
    store.write({ holderIdentity: 'other', leaseDurationSeconds: 15, acquireTime: t0, renewTime: t0, leaseTransitions: 3 });
    const c = candidate(clock, store, 'me');

    // The other leader keeps renewing for 30 s: we never take over.
    for (let i = 1; i <= 15; i++) {
      await clock.advanceAsync(2000);
      store.write({ ...store.lease!.spec, renewTime: toMicroTime(clock.now()) });
    }
    expect(c.events).toEqual([]);

    // It dies after its renewal at t=30 s. We first see that renewal at our poll at t=32 s and
    // judge expiry from then (not from the remote renewTime): free at t=47 s, taken at the t=48 s poll.
    await clock.advanceAsync(16_000);
    expect(c.events).toEqual([]);
    await clock.advanceAsync(2000);
    await c.started;
    expect(store.lease!.spec).toMatchObject({ holderIdentity: 'me', leaseTransitions: 4 });
    expect(store.lease!.spec.acquireTime).toBe(toMicroTime(clock.now()));
  });

  it('stops leading at once when renewal has not succeeded within renewDeadline (hung API server)', async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const store = new FakeLeaseStore();
    const c = candidate(clock, store, 'me');
    await c.started;
    const unblock = store.block();
    await clock.advanceAsync(9_999);
    expect(c.events).toEqual(['started']);
    expect(c.leaderSignal()!.aborted).toBe(false);
    clock.advance(1); // synchronously, inside the deadline timer
    expect(c.events).toEqual(['started', 'stopped']); // without waiting for the hanging request
    expect(c.leaderSignal()!.aborted).toBe(true);
    expect(c.elector.isLeader()).toBe(false);
    expect(c.status.at(-1)).toBe(false);
    unblock();
    await c.run;
  });

  it('keeps leading through failed renewals that recover before the deadline', async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const store = new FakeLeaseStore();
    const c = candidate(clock, store, 'me');
    await c.started;
    for (let i = 0; i < 3; i++) {
      store.failNext('update', httpError(500));
      store.failNext('get', httpError(500));
    }
    await clock.advanceAsync(7000); // attempts at 2, 4 and 6 s fail
    expect(c.events).toEqual(['started']);
    await clock.advanceAsync(1000); // 8 s: succeeds before the 10 s deadline
    await clock.advanceAsync(9000);
    expect(c.events).toEqual(['started']);
    expect(store.lease!.spec.holderIdentity).toBe('me');
  });

  it('stops leading at once when it sees another holder in the lease', async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const store = new FakeLeaseStore();
    const c = candidate(clock, store, 'me');
    await c.started;
    const now = toMicroTime(clock.now());
    store.write({ holderIdentity: 'usurper', leaseDurationSeconds: 15, acquireTime: now, renewTime: now, leaseTransitions: 1 });
    await clock.advanceAsync(2000);
    expect(c.events).toEqual(['started', 'stopped']);
    expect(store.lease!.spec.holderIdentity).toBe('usurper');
  });

  it('releases on cancel so a follower acquires on its next try, and the follower counts a transition', async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const store = new FakeLeaseStore();
    const leader = candidate(clock, store, 'a');
    await leader.started;
    const follower = candidate(clock, store, 'b');
    await clock.advanceAsync(4000);
    expect(follower.events).toEqual([]);

    leader.ac.abort();
    await leader.run;
    expect(leader.events).toEqual(['started', 'stopped']);
    expect(store.lease!.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 0 });

    await clock.advanceAsync(2000); // one retry period, far less than the 15 s lease duration
    await follower.started;
    expect(store.lease!.spec).toMatchObject({ holderIdentity: 'b', leaseDurationSeconds: 15, leaseTransitions: 1 });
  });

  it('releases even when a renewal abandoned at shutdown reached the API server first', async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const store = new FakeLeaseStore();
    const c = candidate(clock, store, 'me');
    await c.started;
    // The renewal the shutdown abandoned landed anyway: same holder, a newer resourceVersion
    // than the one the elector last saw.
    store.write({ ...store.lease!.spec, renewTime: toMicroTime(clock.now() + 1) });
    c.ac.abort();
    await c.run;
    expect(store.lease!.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
  });

  it('leaves a lease that another candidate took meanwhile alone', async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const store = new FakeLeaseStore();
    const c = candidate(clock, store, 'me');
    await c.started;
    store.write({ ...store.lease!.spec, holderIdentity: 'other' });
    c.ac.abort();
    await c.run;
    expect(store.lease!.spec.holderIdentity).toBe('other');
  });

  it('gives up releasing after renewDeadline when the API server hangs, so shutdown is bounded', async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const store = new FakeLeaseStore();
    const c = candidate(clock, store, 'me');
    await c.started;
    store.block();
    c.ac.abort();
    let finished = false;
    void c.run.then(() => (finished = true));
    await clock.advanceAsync(9_999);
    expect(finished).toBe(false);
    expect(c.leaderSignal()!.aborted).toBe(true); // leader work was stopped before the release attempt
    await clock.advanceAsync(1);
    expect(finished).toBe(true);
    expect(c.events).toEqual(['started', 'stopped']);
  });

  it('does not release when releaseOnCancel is false', async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const store = new FakeLeaseStore();
    const c = candidate(clock, store, 'me', { releaseOnCancel: false });
    await c.started;
    c.ac.abort();
    await c.run;
    expect(store.lease!.spec.holderIdentity).toBe('me');
  });

  it('treats a 409 on takeover as losing the race (optimistic concurrency)', async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const store = new FakeLeaseStore();
    store.write({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 7 });
    const origUpdate = store.update.bind(store);
    let raced = false;
    store.update = async (l) => {
      if (!raced) {
        raced = true;
        // Another candidate writes between our get and our update.
        const now = toMicroTime(clock.now());
        store.write({ holderIdentity: 'rival', leaseDurationSeconds: 15, acquireTime: now, renewTime: now, leaseTransitions: 8 });
      }
      return origUpdate(l);
    };
    const c = candidate(clock, store, 'me');
    await flushMicrotasks();
    expect(c.events).toEqual([]);
    expect(store.lease!.spec.holderIdentity).toBe('rival');
    await clock.advanceAsync(10_000);
    expect(c.events).toEqual([]); // rival's lease is still valid from our observation
  });

  it('rejects inconsistent timings', () => {
    const store = new FakeLeaseStore();
    const base = { leaseName: 'l', leaseNamespace: 'ns', store, identity: 'x' };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(/leaseDuration/);
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(/renewDeadline/);
    expect(new LeaderElector({ leaseName: 'l', leaseNamespace: 'ns', store }).identity).toMatch(/^.+_[0-9a-f-]{36}$/);
  });
});
