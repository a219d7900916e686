import { describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from './clock.ts';
import { FakeLeaseStore } from './fakes.ts';
import { FencedWriteError, WriteFence } from './fence.ts';
import { LeaderElector } from './leaderelection.ts';
import { Manager, type Runnable } from './manager.ts';

/** A write that stays in flight until finish() or until its signal aborts, like an HTTP request. */
class PendingWrite {
  sent = 0;
  signal: AbortSignal | undefined;
  #finish: (() => void) | undefined;
  run = (signal: AbortSignal): Promise<string> => {
    this.sent++;
    this.signal = signal;
    return new Promise((resolve, reject) => {
      this.#finish = () => resolve('written');
      signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
  };
  finish(): void {
    this.#finish?.();
  }
}

const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    (v) => `resolved ${String(v)}`,
    (e: Error) => `${e.name}: ${e.message}`,
  );

describe('WriteFence', () => {
  it('refuses writes until opened, without starting them', async () => {
    const fence = new WriteFence();
    const write = new PendingWrite();
    expect(await outcome(fence.run(undefined, write.run))).toBe('FencedWriteError: write fenced: not leading');
    expect(write.sent).toBe(0);
  });

  it('close aborts the writes in flight and refuses the next ones', async () => {
    const fence = new WriteFence();
    fence.open();
    const write = new PendingWrite();
    const inFlight = outcome(fence.run(undefined, write.run));
    expect(fence.inFlight).toBe(1);
    fence.close(new Error('leader election lost'));
    expect(write.signal?.aborted).toBe(true);
    expect(await inFlight).toBe('FencedWriteError: write fenced: leader election lost');
    const later = new PendingWrite();
    expect(await outcome(fence.run(undefined, later.run))).toBe('FencedWriteError: write fenced: leader election lost');
    expect(later.sent).toBe(0);
  });

  it("keeps the caller's own abort as it was", async () => {
    const fence = new WriteFence();
    fence.open();
    const caller = new AbortController();
    const write = new PendingWrite();
    const inFlight = outcome(fence.run(caller.signal, write.run));
    caller.abort();
    expect(await inFlight).toBe('Error: aborted');
    expect(fence.isOpen).toBe(true);
  });

  it('drain refuses new writes and resolves once the admitted ones have finished', async () => {
    const fence = new WriteFence();
    fence.open();
    const write = new PendingWrite();
    const inFlight = outcome(fence.run(undefined, write.run));
    let drained = false;
    const draining = fence.drain('shutting down').then(() => (drained = true));
    expect(await outcome(fence.run(undefined, new PendingWrite().run))).toBe('FencedWriteError: write fenced: shutting down');
    await flushMicrotasks();
    expect(drained).toBe(false);
    write.finish();
    await draining;
    expect(await inFlight).toBe('resolved written');
    expect(fence.inFlight).toBe(0);
  });
});

/** Leader work that issues a write through the fence whenever the test asks. */
class Writer implements Runnable {
  readonly fence: WriteFence;
  constructor(fence: WriteFence) {
    this.fence = fence;
  }
  start(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }
  write(w: PendingWrite): Promise<string> {
    return outcome(this.fence.run(undefined, w.run));
  }
}

function elected(clock: FakeClock, store: FakeLeaseStore) {
  const fence = new WriteFence();
  const writer = new Writer(fence);
  const elector = new LeaderElector({
    leaseName: 'lease',
    leaseNamespace: 'ns',
    store,
    identity: 'me',
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    clock,
    random: () => 0,
  });
  const manager = new Manager({ clock, leaderElector: elector, writeFence: fence, gracefulShutdownTimeoutMs: 30_000 }).add(writer, { name: 'writer', needLeaderElection: true });
  return { fence, writer, manager };
}

describe('Manager with a write fence', () => {
  it('opens the fence only once elected', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    store.write({ holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: 'x', acquireTime: 'x', leaseTransitions: 0 });
    const { fence, manager } = elected(clock, store);
    const stop = new AbortController();
    const run = outcome(manager.start(stop.signal));
    await clock.advanceAsync(5_000);
    expect(fence.isOpen).toBe(false);
    await clock.advanceAsync(20_000); // the other holder's lease expired: ours now
    expect(store.lease?.spec.holderIdentity).toBe('me');
    expect(fence.isOpen).toBe(true);
    stop.abort();
    await clock.advanceAsync(0);
    expect(await run).toBe('resolved undefined');
  });

  it('on a lost lease closes the fence at the renew deadline: writes in flight (and the renewal) are abandoned, none is started after', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const { fence, writer, manager } = elected(clock, store);
    const run = outcome(manager.start(new AbortController().signal));
    await clock.advanceAsync(0);
    expect(fence.isOpen).toBe(true);
    const lastRenew = clock.now();

    const unblock = store.block(); // the API server stops answering (a partition)
    const renewTime = store.lease?.spec.renewTime;
    const inFlight = new PendingWrite();
    const inFlightOutcome = writer.write(inFlight);
    // One tick before the deadline the leader still writes.
    await clock.advanceAsync(10_000 - 1);
    const beforeDeadline = new PendingWrite();
    void writer.write(beforeDeadline);
    expect(beforeDeadline.sent).toBe(1);
    expect(inFlight.signal?.aborted).toBe(false);

    await clock.advanceAsync(1);
    expect(clock.now() - lastRenew).toBe(10_000);
    expect(fence.isOpen).toBe(false);
    expect(inFlight.signal?.aborted).toBe(true);
    expect(beforeDeadline.signal?.aborted).toBe(true);
    expect(await inFlightOutcome).toBe('FencedWriteError: write fenced: leader election lost');
    const afterDeadline = new PendingWrite();
    expect(await writer.write(afterDeadline)).toBe('FencedWriteError: write fenced: leader election lost');
    expect(afterDeadline.sent).toBe(0);
    expect(await run).toBe('LeaderElectionLostError: leader election lost');
    // The renewal that hung is abandoned too: it does not land when the API server answers again.
    expect(store.abandoned).toBe(1);
    unblock();
    await flushMicrotasks();
    expect(store.lease?.spec.renewTime).toBe(renewTime);
  });

  it('on shutdown lets the writes in flight finish, closes the fence, and only then releases the lease', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const { fence, writer, manager } = elected(clock, store);
    const stop = new AbortController();
    const run = outcome(manager.start(stop.signal));
    await clock.advanceAsync(0);
    const event = new PendingWrite(); // an Event recorded by the last reconcile, still being written
    const eventOutcome = writer.write(event);

    stop.abort();
    await clock.advanceAsync(5_000);
    expect(store.lease?.spec.holderIdentity).toBe('me'); // not released while the write is out
    expect(fence.isOpen).toBe(false);
    const late = new PendingWrite();
    expect(await writer.write(late)).toBe('FencedWriteError: write fenced: leader work stopped');
    expect(late.sent).toBe(0);

    event.finish();
    expect(await eventOutcome).toBe('resolved written');
    await clock.advanceAsync(0);
    expect(store.lease?.spec.holderIdentity).toBe('');
    expect(await run).toBe('resolved undefined');
  });

  it('on shutdown aborts a write that outlasts the grace period before it releases the lease', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const { writer, manager } = elected(clock, store);
    const stop = new AbortController();
    const run = outcome(manager.start(stop.signal));
    await clock.advanceAsync(0);
    const hung = new PendingWrite();
    const hungOutcome = writer.write(hung);
    stop.abort();
    await clock.advanceAsync(30_000 - 1);
    expect(hung.signal?.aborted).toBe(false);
    expect(store.lease?.spec.holderIdentity).toBe('me');
    await clock.advanceAsync(1);
    expect(hung.signal?.aborted).toBe(true);
    expect(await hungOutcome).toBe('FencedWriteError: write fenced: leader work stopped');
    await clock.advanceAsync(0);
    expect(store.lease?.spec.holderIdentity).toBe('');
    expect(await run).toMatch(/grace period of 30s/);
  });
});
