// Liveness and readiness endpoints in the style of controller-runtime pkg/healthz
// (operator-machinery.md §3.5): /healthz, /readyz, ?verbose, ?exclude=, /healthz/<check>.
import { createServer } from 'node:http';
import { realClock, type Clock, type Timer } from './clock.ts';
import { noopLogger, type Logger } from './logger.ts';
import { listen, type ServerHandle } from './server.ts';

/** Passes by returning; fails by throwing (the message is shown in verbose output). */
export type HealthCheck = () => void | Promise<void>;

type Kind = 'healthz' | 'readyz';

export interface CheckOutcome {
  name: string;
  ok: boolean;
  excluded: boolean;
  message?: string;
}

export class HealthProbes {
  readonly #checks: Record<Kind, Map<string, HealthCheck>> = { healthz: new Map(), readyz: new Map() };

  addHealthzCheck(name: string, check: HealthCheck): void {
    this.#add('healthz', name, check);
  }

  addReadyzCheck(name: string, check: HealthCheck): void {
    this.#add('readyz', name, check);
  }

  async run(kind: Kind, exclude: ReadonlySet<string> = new Set()): Promise<CheckOutcome[]> {
    const entries = [...this.#checks[kind]];
    return Promise.all(
      entries.map(async ([name, check]): Promise<CheckOutcome> => {
        if (exclude.has(name)) return { name, ok: true, excluded: true };
        try {
          await check();
          return { name, ok: true, excluded: false };
        } catch (err) {
          return { name, ok: false, excluded: false, message: err instanceof Error ? err.message : String(err) };
        }
      }),
    );
  }

  has(kind: Kind, name: string): boolean {
    return this.#checks[kind].has(name);
  }

  #add(kind: Kind, name: string, check: HealthCheck): void {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`invalid ${kind} check name ${JSON.stringify(name)}`);
    if (this.#checks[kind].has(name)) throw new Error(`${kind} check ${name} already registered`);
    this.#checks[kind].set(name, check);
  }
}

/**
 * Readiness check 'informers-synced': fails naming the caches that have not synced yet, or whose
 * list/watch is failing (the API server is gone or refusing): their contents are going stale.
 */
export function informersSynced(
  informers: ReadonlyArray<{ name: string; hasSynced(): boolean; failingForMs?(): number | undefined }>,
): HealthCheck {
  return () => {
    const pending = informers.filter((i) => !i.hasSynced()).map((i) => i.name);
    if (pending.length > 0) throw new Error(`caches not synced: ${pending.join(', ')}`);
    const failing = informers.filter((i) => i.failingForMs?.() !== undefined).map((i) => `${i.name} (${i.failingForMs!()} ms)`);
    if (failing.length > 0) throw new Error(`caches cannot reach the API server: ${failing.join(', ')}`);
  };
}

export interface EventLoopMonitorOptions {
  clock?: Clock;
  /** How often the probe timer is scheduled. */
  intervalMs?: number;
  /** Liveness fails when a timer fires (or is overdue) by more than this. */
  thresholdMs?: number;
}

/**
 * Measures event-loop responsiveness by how late a periodic timer fires. A single-threaded
 * operator that is blocked (a sync loop, a huge JSON.parse) cannot reconcile, so liveness
 * should fail and let the kubelet restart it.
 */
export class EventLoopMonitor {
  readonly intervalMs: number;
  readonly thresholdMs: number;
  readonly #clock: Clock;
  #timer: Timer | undefined;
  #expectedAt = 0;
  #lastLagMs = 0;

  constructor(opts: EventLoopMonitorOptions = {}) {
    this.#clock = opts.clock ?? realClock;
    this.intervalMs = opts.intervalMs ?? 1000;
    this.thresholdMs = opts.thresholdMs ?? 5000;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#schedule();
  }

  stop(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The worse of the last measured lag and how overdue the pending tick is now. */
  lagMs(): number {
    const overdue = this.#timer === undefined ? 0 : this.#clock.now() - this.#expectedAt;
    return Math.max(this.#lastLagMs, overdue, 0);
  }

  readonly check: HealthCheck = () => {
    if (this.#timer === undefined) throw new Error('event loop monitor not running');
    const lag = this.lagMs();
    if (lag > this.thresholdMs) throw new Error(`event loop blocked for ${Math.round(lag)} ms`);
  };

  #schedule(): void {
    this.#expectedAt = this.#clock.now() + this.intervalMs;
    this.#timer = this.#clock.setTimeout(() => {
      this.#lastLagMs = Math.max(0, this.#clock.now() - this.#expectedAt);
      this.#schedule();
    }, this.intervalMs);
  }
}

export async function handleProbe(
  probes: HealthProbes,
  kind: Kind,
  url: URL,
): Promise<{ status: number; body: string }> {
  const rest = url.pathname.slice(kind.length + 2);
  if (rest) {
    if (!probes.has(kind, rest)) return { status: 404, body: `no ${kind} check named ${rest}\n` };
    const [outcome] = (await probes.run(kind)).filter((o) => o.name === rest);
    return outcome?.ok
      ? { status: 200, body: 'ok' }
      : { status: 500, body: `internal server error: ${outcome?.message ?? 'failed'}\n` };
  }
  const exclude = new Set(url.searchParams.getAll('exclude'));
  const outcomes = await probes.run(kind, exclude);
  const failed = outcomes.some((o) => !o.ok);
  const verbose = url.searchParams.has('verbose');
  if (!failed && !verbose) return { status: 200, body: 'ok' };
  const lines = outcomes.map((o) =>
    o.excluded ? `[+]${o.name} excluded: ok` : o.ok ? `[+]${o.name} ok` : `[-]${o.name} failed: ${o.message}`,
  );
  for (const name of exclude) {
    if (!outcomes.some((o) => o.name === name)) lines.push(`warn: some health checks cannot be excluded: no matches for "${name}"`);
  }
  lines.push(failed ? `${kind} check failed` : `${kind} check passed`);
  return { status: failed ? 500 : 200, body: lines.join('\n') + '\n' };
}

export function startHealthServer(opts: {
  address?: string;
  probes: HealthProbes;
  logger?: Logger;
}): Promise<ServerHandle> {
  const log = opts.logger ?? noopLogger;
  // The kubelet probes every few seconds: a failure is logged when it starts or changes, not
  // on every probe for as long as it lasts.
  const lastFailureLogged: Record<Kind, string | undefined> = { healthz: undefined, readyz: undefined };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://probe');
    const kind: Kind | undefined = /^\/healthz(\/|$)/.test(url.pathname)
      ? 'healthz'
      : /^\/readyz(\/|$)/.test(url.pathname)
        ? 'readyz'
        : undefined;
    if (!kind) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    handleProbe(opts.probes, kind, url).then(
      ({ status, body }) => {
        if (status === 200) lastFailureLogged[kind] = undefined;
        else if (body !== lastFailureLogged[kind]) {
          lastFailureLogged[kind] = body;
          log.info({ probe: kind, status, body }, 'probe failed');
        } else log.debug({ probe: kind, status }, 'probe failed again');
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' }).end(body);
      },
      (err: unknown) => {
        log.error({ err }, 'probe handler failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
      },
    );
  });
  return listen(server, opts.address ?? ':8081');
}
