// The operator as a separate process (`node src/main.ts`), as it runs in a pod, for what only a
// process shows: signals and exit codes, leader election between replicas, a SIGKILL at any
// instant. Its JSON logs are collected (and can be waited on), its /metrics and /readyz are read
// over HTTP. It runs under `setpriv --pdeathsig KILL` so a dead test run leaves nothing, and any
// process still running when a test file ends is SIGKILLed.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { poll } from '../../hack/localcluster/cluster.ts';
import { freePort } from '../../hack/localcluster/process.ts';
import { metricSum, parseMetrics } from './prom.ts';
import type { Sample } from './prom.ts';

export interface OperatorProcessOptions {
  kubeconfig: string;
  /** --namespaces: the namespaces the operator watches. */
  namespaces: string[];
  /** --leader-elect (off unless set: the operator's own default is on). */
  leaderElect?: boolean;
  /** --leader-elect-namespace, the namespace of the leader Lease; the operator's default when unset. */
  leaderElectNamespace?: string;
  flags?: string[];
  /** Where stdout and stderr go (appended), for a post-mortem. */
  logFile?: string;
  /** Start Node with the inspector on this port (heap measurements). */
  inspectPort?: number;
  env?: Record<string, string>;
}

export interface LogLine {
  level: number;
  time: string;
  msg?: string;
  [key: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** pino levels. */
export const ERROR = 50;
export const WARN = 40;

/** Thrown while waiting on a process that has exited: waiting longer cannot help. */
export class OperatorExitedError extends Error {}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const node = join(repoRoot, 'node_modules', '.bin', 'node');

const running = new Set<OperatorProcess>();
// Registered when a test file imports this module (during collection): hooks registered later,
// from inside a test or hook, would be dropped by vitest and the processes would outlive the file.
afterAll(async () => {
  await Promise.all([...running].map((p) => p.kill('SIGKILL')));
});

export class OperatorProcess {
  readonly options: OperatorProcessOptions;
  readonly metricsPort: number;
  readonly healthPort: number;
  /** The JSON log lines, in order. */
  readonly logs: LogLine[] = [];
  /** Everything that was not a JSON log line (stack traces of a crash). */
  readonly stderr: string[] = [];
  readonly startedAt = Date.now();
  private child: ChildProcess | undefined;
  private exitInfo: Exit | undefined;
  private exitPromise: Promise<Exit> = Promise.resolve({ code: null, signal: null });
  private killedByTest = false;
  private logWaiters: { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];

  private constructor(options: OperatorProcessOptions, metricsPort: number, healthPort: number) {
    this.options = options;
    this.metricsPort = metricsPort;
    this.healthPort = healthPort;
  }

  static async start(options: OperatorProcessOptions): Promise<OperatorProcess> {
    const op = new OperatorProcess(options, await freePort(), await freePort());
    op.spawn();
    return op;
  }

  private spawn(): void {
    const o = this.options;
    const args = [
      ...(o.inspectPort ? [`--inspect=127.0.0.1:${o.inspectPort}`] : []),
      join(repoRoot, 'src', 'main.ts'),
      `--kubeconfig=${o.kubeconfig}`,
      `--namespaces=${o.namespaces.join(',')}`,
      `--leader-elect=${o.leaderElect ?? false}`,
      ...(o.leaderElectNamespace ? [`--leader-elect-namespace=${o.leaderElectNamespace}`] : []),
      `--metrics-bind-address=127.0.0.1:${this.metricsPort}`,
      `--health-probe-bind-address=127.0.0.1:${this.healthPort}`,
      '--log-format=json',
      '--log-level=info',
      ...(o.flags ?? []),
    ];
    const usePdeathsig = existsSync('/usr/bin/setpriv');
    const [command, argv] = usePdeathsig ? ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', node, ...args]] : [node, args];
    const log: WriteStream | undefined = o.logFile ? createWriteStream(o.logFile, { flags: 'a' }) : undefined;
    const child = spawn(command, argv, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env, NODE_OPTIONS: '' } });
    this.child = child;
    running.add(this);
    let buffered = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      log?.write(chunk);
      buffered += chunk;
      let i: number;
      while ((i = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, i);
        buffered = buffered.slice(i + 1);
        if (!text.trim()) continue;
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          this.stderr.push(text);
          continue;
        }
        this.logs.push(line);
        for (const w of [...this.logWaiters]) {
          if (w.match(line)) {
            this.logWaiters.splice(this.logWaiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      log?.write(chunk);
      this.stderr.push(chunk);
    });
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        running.delete(this);
        log?.end();
        // A failure the test did not cause: show what the process said on its way out.
        if (code !== 0 && !this.killedByTest && this.stderr.length) process.stderr.write(`[operator ${child.pid} stderr]\n${this.stderr.join('\n')}\n`);
        resolve({ code, signal });
      });
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** Set when the process exited without the test killing it: a crash. */
  get crashed(): Exit | undefined {
    return this.exitInfo && !this.killedByTest ? this.exitInfo : undefined;
  }

  exited(): Promise<Exit> {
    return this.exitPromise;
  }

  /** SIGKILL (a node failure, an OOM kill) or SIGTERM (a rolling update); resolves on exit. */
  async kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<Exit> {
    if (!this.running) return this.exitInfo!;
    this.killedByTest = true;
    this.child?.kill(signal);
    return this.exitPromise;
  }

  /** Resolves with the first log line that matches, including lines already seen. */
  waitForLog(match: (line: LogLine) => boolean): Promise<LogLine> {
    const seen = this.logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.logWaiters.push({ match, resolve }));
  }

  errorLines(): LogLine[] {
    return this.logs.filter((l) => l.level >= ERROR);
  }

  async metrics(): Promise<Sample[]> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
    return parseMetrics(await res.text());
  }

  /**
   * Sum of a metric's samples whose labels include `labels`, e.g.
   * `leader_election_master_status` with `{ name: 'aimodel-operator-leader' }`; undefined when
   * there is no such sample or /metrics does not answer.
   */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    const samples = await this.metrics().catch(() => []);
    return metricSum(samples, name, labels);
  }

  /** HTTP status of /readyz, or 0 when nothing answers. */
  async readyz(): Promise<number> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.healthPort}/readyz`, { signal: AbortSignal.timeout(2_000) });
      await res.text();
      return res.status;
    } catch {
      return 0;
    }
  }

  /** Polls /readyz until it answers 200 (the caches synced), failing fast if the process dies; returns the time it took. */
  async waitReady(timeoutMs = 60_000): Promise<number> {
    const started = Date.now();
    await poll(
      `operator ${this.pid} /readyz`,
      timeoutMs,
      async () => {
        if (!this.running) throw new OperatorExitedError(`operator exited: ${JSON.stringify(this.exitInfo)}\n${this.tail()}`);
        return (await this.readyz()) === 200;
      },
      { isFatal: (err) => err instanceof OperatorExitedError },
    );
    return Date.now() - started;
  }

  tail(lines = 30): string {
    return [...this.logs.slice(-lines).map((l) => JSON.stringify(l)), ...this.stderr.slice(-10)].join('\n');
  }
}
