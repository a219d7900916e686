import { describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from './clock.ts';
import { FakeLeaseStore } from './fakes.ts';
import { LeaderElector, toMicroTime } from './leaderelection.ts';
import { LeaderElectionLostError, Manager, serverRunnable, type Runnable } from './manager.ts';

/** Runs until aborted, then "drains" until finishDrain() (or cancel) is called. */
class FakeRunnable implements Runnable {
  readonly name: string;
  readonly log: string[];
  running = false;
  #finish: (() => void) | undefined;
  #started: Array<() => void> = [];
  autoDrain: boolean;

  constructor(name: string, log: string[], autoDrain = true) {
    this.name = name;
    this.log = log;
    this.autoDrain = autoDrain;
  }

  start(signal: AbortSignal): Promise<void> {
    this.running = true;
    this.log.push(`${this.name}:start`);
    for (const w of this.#started.splice(0)) w();
    return new Promise((resolve) => {
      this.#finish = () => {
        if (!this.running) return;
        this.running = false;
        this.log.push(`${this.name}:stopped`);
        resolve();
      };
      signal.addEventListener('abort', () => {
        this.log.push(`${this.name}:abort`);
        if (this.autoDrain) this.#finish?.();
      });
    });
  }

  cancel(reason: Error): void {
    this.log.push(`${this.name}:cancel(${reason.message})`);
    this.#finish?.();
  }

  finishDrain(): void {
    this.#finish?.();
  }

  whenStarted(): Promise<void> {
    return this.running ? Promise.resolve() : new Promise((r) => this.#started.push(r));
  }
}

function settle(p: Promise<void>): Promise<string> {
  return p.then(
    () => 'resolved',
    (e: Error) => `rejected: ${e.message}`,
  );
}

/** A manager with an elector, an informer-like runnable and a controller that drains on request. */
function electedManager(clock: FakeClock, store: FakeLeaseStore, log: string[]) {
  const informer = new FakeRunnable('informer', log);
  const controller = new FakeRunnable('controller', log, false);
  const elector = new LeaderElector({ leaseName: 'lease', leaseNamespace: 'ns', store, identity: 'me', clock, random: () => 0 });
  const mgr = new Manager({ clock, leaderElector: elector })
    .add(informer, { name: 'informer' })
    .add(controller, { name: 'controller', needLeaderElection: true });
  return { informer, controller, mgr };
}

describe('Manager', () => {
  it('without an elector runs everything; on abort stops leader runnables first, then the rest', async () => {
    const log: string[] = [];
    const informer = new FakeRunnable('informer', log);
    const controller = new FakeRunnable('controller', log);
    const mgr = new Manager({ clock: new FakeClock(0) })
      .add(informer, { name: 'informer' })
      .add(controller, { name: 'controller', needLeaderElection: true });
    const ac = new AbortController();
    const run = settle(mgr.start(ac.signal));
    await controller.whenStarted();
    expect(mgr.isLeader()).toBe(true);
    ac.abort();
    expect(await run).toBe('resolved');
    expect(log).toEqual([
      'informer:start',
      'controller:start',
      'controller:abort',
      'controller:stopped',
      'informer:abort',
      'informer:stopped',
    ]);
  });

  it('starts leader runnables only when elected; on shutdown drains them, then releases the lease, then stops the rest', async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const store = new FakeLeaseStore();
    const now = toMicroTime(clock.now());
    store.write({ holderIdentity: 'previous', leaseDurationSeconds: 15, acquireTime: now, renewTime: now, leaseTransitions: 0 });
    const log: string[] = [];
    const origUpdate = store.update.bind(store);
    store.update = async (l) => {
      if (l.spec.holderIdentity === '') log.push('lease:released');
      return origUpdate(l);
    };
    const { informer, controller, mgr } = electedManager(clock, store, log);
    const ac = new AbortController();
    const run = settle(mgr.start(ac.signal));
    await flushMicrotasks();
    expect(log).toEqual(['informer:start']); // standby: caches warm, controller idle

    await clock.advanceAsync(16_000); // the previous holder's lease expires
    await controller.whenStarted();
    expect(store.lease!.spec).toMatchObject({ holderIdentity: 'me', leaseTransitions: 1 });

    ac.abort();
    await flushMicrotasks();
    expect(log.at(-1)).toBe('controller:abort');
    expect(store.lease!.spec.holderIdentity).toBe('me'); // still held while draining
    controller.finishDrain();
    expect(await run).toBe('resolved');
    expect(log.slice(2)).toEqual(['controller:abort', 'controller:stopped', 'lease:released', 'informer:abort', 'informer:stopped']);
    expect(store.lease!.spec.holderIdentity).toBe('');
  });

  it('on lost leadership cancels leader runnables at once and rejects with "leader election lost"', async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const store = new FakeLeaseStore();
    const log: string[] = [];
    const { informer, controller, mgr } = electedManager(clock, store, log);
    const run = settle(mgr.start(new AbortController().signal));
    await controller.whenStarted();
    store.block(); // API server stops answering; never unblocked
    await clock.advanceAsync(9_999);
    expect(controller.running).toBe(true);
    clock.advance(1); // synchronous: the renew deadline timer itself must cancel leader work
    expect(log).toContain('controller:cancel(leader election lost)');
    expect(controller.running).toBe(false);
    expect(await run).toBe('rejected: leader election lost');
    expect(informer.running).toBe(false);
    expect(mgr.isLeader()).toBe(false);
  });

  it('a failing runnable stops the manager and surfaces its error', async () => {
    const log: string[] = [];
    const informer = new FakeRunnable('informer', log);
    const mgr = new Manager({ clock: new FakeClock(0) })
      .add(informer, { name: 'informer' })
      .add({ start: async () => Promise.reject(new Error('cache sync timeout')) }, { name: 'controller', needLeaderElection: true });
    expect(await settle(mgr.start(new AbortController().signal))).toBe('rejected: cache sync timeout');
    expect(informer.running).toBe(false);
  });

  it('gives up after the graceful shutdown timeout and cancels what is still running', async () => {
    const clock = new FakeClock(0);
    const log: string[] = [];
    const controller = new FakeRunnable('controller', log, false);
    controller.cancel = function (reason) {
      log.push(`controller:cancel(${reason.message})`); // ignores cancellation too
    };
    const mgr = new Manager({ clock, gracefulShutdownTimeoutMs: 30_000 }).add(controller, { name: 'c', needLeaderElection: true });
    const ac = new AbortController();
    const run = settle(mgr.start(ac.signal));
    await controller.whenStarted();
    ac.abort();
    await clock.advanceAsync(29_999);
    expect(log).not.toContain('controller:cancel(graceful shutdown timed out)');
    await clock.advanceAsync(1);
    expect(log).toContain('controller:cancel(graceful shutdown timed out)');
    expect(await run).toBe('rejected: failed waiting for all runnables to end within grace period of 30s');
  });

  it('serverRunnable opens on start and closes on abort', async () => {
    const log: string[] = [];
    const r = serverRunnable(async () => {
      log.push('open');
      return { port: 1, close: async () => void log.push('close') };
    });
    const ac = new AbortController();
    const p = r.start(ac.signal);
    await flushMicrotasks();
    expect(log).toEqual(['open']);
    ac.abort();
    await p;
    expect(log).toEqual(['open', 'close']);
  });

  it('exports LeaderElectionLostError with the controller-runtime message', () => {
    expect(new LeaderElectionLostError().message).toBe('leader election lost');
  });
});
