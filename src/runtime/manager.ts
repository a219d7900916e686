// controller-runtime's Manager in small (pkg/manager/internal.go): runs caches and servers on
// every replica, controllers only on the leader, and orders shutdown so the lease is released
// only after the leader's work has drained.
import { realClock, type Clock } from './clock.ts';
import type { WriteFence } from './fence.ts';
import type { LeaderCallbacks } from './leaderelection.ts';
import { noopLogger, type Logger } from './logger.ts';
import type { ServerHandle } from './server.ts';

export interface Runnable {
  /** Runs until the signal aborts, then stops gracefully (draining) and resolves. */
  start(signal: AbortSignal): Promise<void>;
  /** Optional hard stop: abandon in-flight work now (leadership lost, grace period exceeded). */
  cancel?(reason: Error): void;
}

export interface LeaderElectorLike {
  run(signal: AbortSignal, callbacks: LeaderCallbacks): Promise<void>;
}

export class LeaderElectionLostError extends Error {
  constructor() {
    super('leader election lost');
    this.name = 'LeaderElectionLostError';
  }
}

export interface ManagerOptions {
  logger?: Logger;
  clock?: Clock;
  /** Without an elector, leader-election runnables start at once (single replica, tests). */
  leaderElector?: LeaderElectorLike;
  gracefulShutdownTimeoutMs?: number;
  /**
   * The fence the leader's writes run through: open while leader runnables may run, closed at
   * once when leadership is lost, drained before the lease is released.
   */
  writeFence?: WriteFence;
}

interface Entry {
  name: string;
  runnable: Runnable;
  needLeaderElection: boolean;
}

export class Manager {
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #elector: LeaderElectorLike | undefined;
  readonly #graceMs: number;
  readonly #fence: WriteFence | undefined;
  readonly #entries: Entry[] = [];
  #started = false;
  #leading = false;

  constructor(opts: ManagerOptions = {}) {
    this.#log = (opts.logger ?? noopLogger).child({ component: 'manager' });
    this.#clock = opts.clock ?? realClock;
    this.#elector = opts.leaderElector;
    this.#graceMs = opts.gracefulShutdownTimeoutMs ?? 30_000;
    this.#fence = opts.writeFence;
  }

  add(runnable: Runnable, opts: { name: string; needLeaderElection?: boolean }): this {
    if (this.#started) throw new Error('runnables must be added before start()');
    this.#entries.push({ name: opts.name, runnable, needLeaderElection: opts.needLeaderElection ?? false });
    return this;
  }

  /** True while leader-election runnables are running (for a readiness check). */
  isLeader(): boolean {
    return this.#leading;
  }

  /**
   * Runs everything until the signal aborts (resolves after a graceful shutdown), a runnable
   * fails (rejects with its error), or leadership is lost (rejects with LeaderElectionLostError
   * after cancelling leader work at once; the caller is expected to exit, as controller-runtime does).
   * Also rejects if shutdown exceeds the grace period.
   */
  async start(signal: AbortSignal): Promise<void> {
    if (this.#started) throw new Error('manager already started');
    this.#started = true;

    const nonLeaderStop = new AbortController();
    const leaderStop = new AbortController();
    const electorStop = new AbortController();
    const nonLeaderRuns: Promise<void>[] = [];
    const leaderRuns: Promise<void>[] = [];
    const leaderEntries = this.#entries.filter((e) => e.needLeaderElection);
    let stopping = false;
    let requestStop!: (failure: Error | undefined) => void;
    const stopRequested = new Promise<Error | undefined>((resolve) => (requestStop = resolve));
    const fail = (err: Error): void => {
      if (!stopping) requestStop(err);
    };

    const launch = (e: Entry, s: AbortSignal, into: Promise<void>[]): void => {
      const run = Promise.resolve()
        .then(() => e.runnable.start(s))
        .then(
          () => this.#log.debug({ runnable: e.name }, 'runnable finished'),
          (err: unknown) => {
            const error = err instanceof Error ? err : new Error(String(err));
            this.#log.error({ err: error, runnable: e.name }, 'runnable failed');
            fail(error);
          },
        );
      into.push(run);
    };

    const startLeaderRunnables = (): void => {
      if (stopping) return;
      this.#leading = true;
      this.#fence?.open();
      this.#log.info({ count: leaderEntries.length }, 'starting leader election runnables');
      for (const e of leaderEntries) launch(e, leaderStop.signal, leaderRuns);
    };

    // Called synchronously from the elector so leader work stops before anything else runs.
    const leadershipLost = (): void => {
      // First, and even while shutting down: from this instant another replica may lead.
      this.#fence?.close(new LeaderElectionLostError());
      const wasLeading = this.#leading;
      this.#leading = false;
      if (stopping || !wasLeading) return;
      const lost = new LeaderElectionLostError();
      leaderStop.abort(lost);
      for (const e of leaderEntries) e.runnable.cancel?.(lost);
      fail(lost);
    };

    const onAbort = (): void => {
      if (!stopping) requestStop(undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();

    for (const e of this.#entries) if (!e.needLeaderElection) launch(e, nonLeaderStop.signal, nonLeaderRuns);

    let electorDone: Promise<void> = Promise.resolve();
    if (this.#elector) {
      electorDone = this.#elector
        .run(electorStop.signal, {
          onStartedLeading: (leaderSignal) => {
            leaderSignal.addEventListener('abort', leadershipLost, { once: true });
            startLeaderRunnables();
          },
          onStoppedLeading: leadershipLost,
        })
        .catch((err: unknown) => fail(err instanceof Error ? err : new Error(String(err))));
    } else {
      startLeaderRunnables();
    }

    const failure = await stopRequested;
    stopping = true;
    signal.removeEventListener('abort', onAbort);
    this.#log.info({ reason: failure?.message ?? 'signal' }, 'stopping');

    const deadline = this.#clock.now() + this.#graceMs;
    let timedOut = false;

    // 1. Leader work drains first (or was already cancelled if leadership was lost).
    leaderStop.abort(failure ?? new Error('manager shutting down'));
    if (!(await this.#waitUntil(Promise.all(leaderRuns), deadline))) {
      timedOut = true;
      const reason = new Error('graceful shutdown timed out');
      for (const e of leaderEntries) e.runnable.cancel?.(reason);
    }
    this.#leading = false;
    // The writes that work started (Events recorded in the background among them) finish while
    // the lease is still ours; whatever has not finished by the deadline is abandoned.
    if (this.#fence) {
      if (timedOut || !(await this.#waitUntil(this.#fence.drain('leader work stopped'), deadline))) timedOut = true;
      this.#fence.close(failure ?? new Error('leader work stopped'));
    }

    // 2. Only then give up the lease, so a successor never overlaps with our in-flight work.
    electorStop.abort();
    if (!(await this.#waitUntil(electorDone, deadline))) timedOut = true;

    // 3. Caches and servers last.
    nonLeaderStop.abort(new Error('manager shutting down'));
    if (!(await this.#waitUntil(Promise.all(nonLeaderRuns), deadline))) {
      timedOut = true;
      const reason = new Error('graceful shutdown timed out');
      for (const e of this.#entries) if (!e.needLeaderElection) e.runnable.cancel?.(reason);
    }

    if (failure) throw failure;
    if (timedOut) {
      throw new Error(`failed waiting for all runnables to end within grace period of ${this.#graceMs / 1000}s`);
    }
    this.#log.info({}, 'stopped');
  }

  /** true if `p` settled before the deadline (on the manager's clock). */
  #waitUntil(p: Promise<unknown>, deadline: number): Promise<boolean> {
    const remaining = deadline - this.#clock.now();
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => resolve(false), Math.max(0, remaining));
      p.then(
        () => {
          this.#clock.clearTimeout(timer);
          resolve(true);
        },
        () => {
          this.#clock.clearTimeout(timer);
          resolve(true);
        },
      );
    });
  }
}

/** Adapts a server (metrics, health) to a Runnable: open on start, close on abort. */
export function serverRunnable(open: () => Promise<ServerHandle>): Runnable {
  return {
    async start(signal) {
      const handle = await open();
      if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      await handle.close();
    },
  };
}
