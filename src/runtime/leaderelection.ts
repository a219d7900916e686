// Lease-based leader election with client-go tools/leaderelection semantics
// (operator-machinery.md §3.4). Expiry of another holder is judged by the local clock from when
// we last saw the record change, never by comparing against the remote renewTime.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { realClock, sleep, type Clock, type Timer } from './clock.ts';
import { noopLogger, type Logger } from './logger.ts';

export type Lease = {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
};

/** The signal abandons a request (a renewal still unanswered at the renew deadline). */
export interface LeaseStore {
  /** undefined when the Lease does not exist. */
  get(signal?: AbortSignal): Promise<Lease | undefined>;
  create(l: Lease, signal?: AbortSignal): Promise<Lease>;
  /** Full replace guarded by metadata.resourceVersion; rejects with `.status` 409 on conflict. */
  update(l: Lease, signal?: AbortSignal): Promise<Lease>;
}

export interface LeaderCallbacks {
  /** leaderSignal aborts the moment leadership ends (lost, or released on shutdown). */
  onStartedLeading(leaderSignal: AbortSignal): void | Promise<void>;
  /** Called once after leading ends; not called if we never led. */
  onStoppedLeading(): void;
}

export interface LeaderElectorOptions {
  leaseName: string;
  leaseNamespace: string;
  store: LeaseStore;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** client-go ReleaseOnCancel; default true. */
  releaseOnCancel?: boolean;
  clock?: Clock;
  logger?: Logger;
  metrics?: { setLeader(leaseName: string, isLeader: boolean): void };
  random?: () => number;
}

/** client-go JitterFactor for acquire retries. */
const JITTER_FACTOR = 1.2;

/** RFC 3339 with exactly six fractional digits, as metav1.MicroTime requires (client-node #828). */
export function toMicroTime(ms: number): string {
  const whole = Math.floor(ms);
  const micros = Math.min(999, Math.round((ms - whole) * 1000));
  const iso = new Date(whole).toISOString(); // 2025-01-01T00:00:00.123Z
  return `${iso.slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID()}`;
}

type Attempt = 'acquired' | 'held-by-other' | 'failed';

export class LeaderElector {
  readonly identity: string;
  readonly leaseName: string;
  readonly #namespace: string;
  readonly #store: LeaseStore;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #releaseOnCancel: boolean;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #metrics: LeaderElectorOptions['metrics'];
  readonly #random: () => number;

  #observed: Lease | undefined;
  #observedTime = 0;
  #leading = false;
  #inflight: Promise<unknown> = Promise.resolve();

  constructor(opts: LeaderElectorOptions) {
    this.leaseName = opts.leaseName;
    this.#namespace = opts.leaseNamespace;
    this.#store = opts.store;
    this.identity = opts.identity ?? defaultIdentity();
    this.#leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.#retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    this.#releaseOnCancel = opts.releaseOnCancel ?? true;
    this.#clock = opts.clock ?? realClock;
    this.#log = (opts.logger ?? noopLogger).child({ lease: `${opts.leaseNamespace}/${opts.leaseName}`, identity: this.identity });
    this.#metrics = opts.metrics;
    this.#random = opts.random ?? Math.random;
    if (!this.identity) throw new Error('leader election identity must not be empty');
    if (this.#leaseDurationMs <= this.#renewDeadlineMs) throw new Error('leaseDuration must be greater than renewDeadline');
    if (this.#renewDeadlineMs <= JITTER_FACTOR * this.#retryPeriodMs) {
      throw new Error('renewDeadline must be greater than retryPeriod*1.2');
    }
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /**
   * Campaigns until leader, leads until the lease cannot be renewed within renewDeadline or the
   * signal aborts (then releases the lease if releaseOnCancel), and resolves.
   */
  async run(signal: AbortSignal, callbacks: LeaderCallbacks): Promise<void> {
    this.#metrics?.setLeader(this.leaseName, false);
    if (!(await this.#acquire(signal))) return;

    this.#leading = true;
    this.#metrics?.setLeader(this.leaseName, true);
    this.#log.info({}, 'acquired lease; started leading');
    const leader = new AbortController();
    try {
      const r = callbacks.onStartedLeading(leader.signal);
      if (r instanceof Promise) r.catch((err: unknown) => this.#log.error({ err }, 'onStartedLeading failed'));
    } catch (err) {
      this.#log.error({ err }, 'onStartedLeading failed');
    }

    let stoppedCalled = false;
    const stopLeading = (outcome: 'lost' | 'cancelled'): void => {
      if (!this.#leading) return;
      this.#leading = false;
      this.#metrics?.setLeader(this.leaseName, false);
      if (outcome === 'lost') this.#log.error({}, 'failed to renew lease within renewDeadline; stopped leading');
      leader.abort(new Error(outcome === 'lost' ? 'leader election lost' : 'leader election stopped'));
    };
    const notifyStopped = (): void => {
      if (stoppedCalled) return;
      stoppedCalled = true;
      try {
        callbacks.onStoppedLeading();
      } catch (err) {
        this.#log.error({ err }, 'onStoppedLeading failed');
      }
    };
    // On loss everything happens synchronously inside the deadline timer, so no continuation of
    // leader work (a queued microtask about to issue a write) can slip in first.
    const outcome = await this.#renewUntilLostOrCancelled(signal, () => {
      stopLeading('lost');
      notifyStopped();
    });
    if (outcome === 'cancelled') {
      stopLeading('cancelled');
      if (this.#releaseOnCancel) await this.#release();
    }
    notifyStopped();
  }

  async #acquire(signal: AbortSignal): Promise<boolean> {
    this.#log.info({}, 'attempting to acquire leader lease');
    while (!signal.aborted) {
      const attempt = await this.#tryAcquireOrRenew();
      if (signal.aborted) break;
      if (attempt === 'acquired') return true;
      const wait = this.#retryPeriodMs * (1 + JITTER_FACTOR * this.#random());
      await sleep(this.#clock, wait, signal);
    }
    // If a late attempt succeeded as we were cancelled, hand the lease straight back.
    if (this.#observed?.spec.holderIdentity === this.identity && this.#releaseOnCancel) await this.#release();
    return false;
  }

  #renewUntilLostOrCancelled(signal: AbortSignal, onLost: () => void): Promise<'lost' | 'cancelled'> {
    return new Promise((resolve) => {
      let finished = false;
      let deadline: Timer | undefined;
      let next: Timer | undefined;
      // As client-go bounds each renewal by the renew deadline: a renewal still unanswered when
      // leadership ends is abandoned, not left to arrive later (or to hold up the shutdown).
      let attempt: AbortController | undefined;
      const finish = (outcome: 'lost' | 'cancelled'): void => {
        if (finished) return;
        finished = true;
        this.#clock.clearTimeout(deadline);
        this.#clock.clearTimeout(next);
        signal.removeEventListener('abort', onAbort);
        if (outcome === 'lost') onLost();
        attempt?.abort(new Error('leader election ended'));
        resolve(outcome);
      };
      const onAbort = (): void => finish('cancelled');
      // Leadership ends when the deadline passes even if a renew request is still hanging:
      // followers may take over soon after, so we must stop acting at once.
      const armDeadline = (): void => {
        this.#clock.clearTimeout(deadline);
        deadline = this.#clock.setTimeout(() => finish('lost'), this.#renewDeadlineMs);
      };
      const renew = async (): Promise<void> => {
        attempt = new AbortController();
        const result = await this.#tryAcquireOrRenew(attempt.signal);
        if (finished) return;
        if (result === 'acquired') armDeadline();
        else if (result === 'held-by-other') {
          // Someone else holds a valid lease: waiting out the deadline would only prolong two leaders.
          finish('lost');
          return;
        }
        next = this.#clock.setTimeout(() => void renew(), this.#retryPeriodMs);
      };
      if (signal.aborted) return finish('cancelled');
      signal.addEventListener('abort', onAbort, { once: true });
      armDeadline();
      next = this.#clock.setTimeout(() => void renew(), this.#retryPeriodMs);
    });
  }

  /** One round of client-go tryAcquireOrRenew. Never throws. */
  #tryAcquireOrRenew(signal?: AbortSignal): Promise<Attempt> {
    const p = this.#tryAcquireOrRenewUnsafe(signal).catch((err: unknown) => {
      if (!signal?.aborted) this.#log.warn({ err }, 'error acquiring or renewing lease');
      return 'failed' as const;
    });
    this.#inflight = p;
    return p;
  }

  async #tryAcquireOrRenewUnsafe(signal: AbortSignal | undefined): Promise<Attempt> {
    const now = this.#clock.now();
    const nowTime = toMicroTime(now);

    // Fast path: we hold a lease that is still valid; renew with the cached resourceVersion.
    if (this.#leading && this.#observed && this.#isObservedValid(now)) {
      const renewed = this.#withSpec(this.#observed, {
        ...this.#observed.spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: this.#leaseDurationSeconds(),
        renewTime: nowTime,
      });
      try {
        this.#setObserved(await this.#store.update(renewed, signal), now);
        return 'acquired';
      } catch (err) {
        if (signal?.aborted) throw err;
        this.#log.debug({ err }, 'optimistic lease renew failed; falling back to slow path');
      }
    }

    const current = await this.#store.get(signal);
    if (!current) {
      const created = await this.#store.create({
        metadata: { name: this.leaseName, namespace: this.#namespace },
        spec: {
          holderIdentity: this.identity,
          leaseDurationSeconds: this.#leaseDurationSeconds(),
          acquireTime: nowTime,
          renewTime: nowTime,
          leaseTransitions: 0,
        },
      }, signal);
      this.#setObserved(created, now);
      return 'acquired';
    }

    if (!this.#observed || !sameRecord(this.#observed, current)) this.#setObserved(current, now);
    else this.#observed = current;

    const holder = current.spec.holderIdentity ?? '';
    if (holder !== '' && holder !== this.identity && this.#isObservedValid(now)) return 'held-by-other';

    const weHold = holder === this.identity;
    const spec: Lease['spec'] = {
      holderIdentity: this.identity,
      leaseDurationSeconds: this.#leaseDurationSeconds(),
      renewTime: nowTime,
      acquireTime: weHold ? (current.spec.acquireTime ?? nowTime) : nowTime,
      leaseTransitions: (current.spec.leaseTransitions ?? 0) + (weHold ? 0 : 1),
    };
    try {
      this.#setObserved(await this.#store.update(this.#withSpec(current, spec), signal), now);
      return 'acquired';
    } catch (err) {
      if (statusOf(err) === 409) {
        this.#log.debug({}, 'lease update conflict: another candidate won');
        return 'failed';
      }
      throw err;
    }
  }

  /** client-go ReleaseOnCancel: an empty holder and 1 s duration let a follower take over at once. */
  async #release(): Promise<void> {
    // Bounded: with a hung API server, shutdown must not wait forever to hand back a lease
    // that will expire on its own anyway.
    if (!(await this.#within(this.#inflight, this.#renewDeadlineMs))) {
      this.#log.warn({}, 'lease renewal still in flight; not releasing');
      return;
    }
    const observed = this.#observed;
    if (!observed || observed.spec.holderIdentity !== this.identity) return;
    let outcome: { lease: Lease | undefined } | { err: unknown } | undefined;
    const release = this.#releaseFrom(observed).then(
      (lease) => (outcome = { lease }),
      (err: unknown) => (outcome = { err }),
    );
    await this.#within(release, this.#renewDeadlineMs);
    if (!outcome) this.#log.warn({}, 'timed out releasing leader lease');
    else if ('err' in outcome) this.#log.warn({ err: outcome.err }, 'failed to release leader lease');
    else if (outcome.lease === undefined) this.#log.info({}, 'leader lease no longer ours; nothing to release');
    else {
      this.#setObserved(outcome.lease, this.#clock.now());
      this.#log.info({}, 'released leader lease');
    }
  }

  /** Writes the release over `lease`; undefined when the lease turns out to be someone else's. */
  async #releaseFrom(lease: Lease): Promise<Lease | undefined> {
    const released = (from: Lease): Lease => {
      const now = toMicroTime(this.#clock.now());
      return this.#withSpec(from, { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: from.spec.leaseTransitions ?? 0 });
    };
    try {
      return await this.#store.update(released(lease));
    } catch (err) {
      // The renewal abandoned when leadership ended may still have reached the API server and
      // moved the lease past the version we hold: read it again, and release it if still ours.
      if (statusOf(err) !== 409) throw err;
      const current = await this.#store.get();
      if (current?.spec.holderIdentity !== this.identity) return undefined;
      return await this.#store.update(released(current));
    }
  }

  /** true if p settled (either way) within ms. */
  #within(p: Promise<unknown>, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => resolve(false), ms);
      const settle = (): void => {
        this.#clock.clearTimeout(timer);
        resolve(true);
      };
      p.then(settle, settle);
    });
  }

  /** The API field is an integer number of seconds. */
  #leaseDurationSeconds(): number {
    return Math.max(1, Math.ceil(this.#leaseDurationMs / 1000));
  }

  #isObservedValid(now: number): boolean {
    const seconds = this.#observed?.spec.leaseDurationSeconds ?? this.#leaseDurationSeconds();
    return this.#observedTime + seconds * 1000 > now;
  }

  #setObserved(lease: Lease, at: number): void {
    this.#observed = lease;
    this.#observedTime = at;
  }

  #withSpec(base: Lease, spec: Lease['spec']): Lease {
    return { ...base, metadata: { ...base.metadata }, spec };
  }
}

function sameRecord(a: Lease, b: Lease): boolean {
  const x = a.spec;
  const y = b.spec;
  return (
    (x.holderIdentity ?? '') === (y.holderIdentity ?? '') &&
    x.leaseDurationSeconds === y.leaseDurationSeconds &&
    x.acquireTime === y.acquireTime &&
    x.renewTime === y.renewTime &&
    (x.leaseTransitions ?? 0) === (y.leaseTransitions ?? 0)
  );
}

function statusOf(err: unknown): number | undefined {
  const s = typeof err === 'object' && err !== null ? (err as { status?: unknown }).status : undefined;
  return typeof s === 'number' ? s : undefined;
}

