// The operator as a separate process (`node src/main.ts`), as it runs in a pod: it can be
// SIGKILLed at any instant, its JSON logs are counted by level, and its /metrics and /readyz
// are read over HTTP. Runs under `setpriv --pdeathsig KILL` so a dead test run leaves nothing.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../../src/localcluster/process.ts';
import { repoRoot, operatorNamespace } from './cluster.ts';
import { parseMetrics } from './prom.ts';
import type { Sample } from './prom.ts';

export interface OperatorProcessOptions {
  kubeconfig: string;
  namespaces: string[];
  leaderElect?: boolean;
  flags?: string[];
  /** Where stdout and stderr go (appended), for a post-mortem. */
  logFile: string;
  /** Start Node with the inspector on this port (heap measurements). */
  inspectPort?: number;
  env?: Record<string, string>;
}

export interface LogLine {
  level: number;
  msg?: string;
  time?: string;
  [key: string]: unknown;
}

/** pino levels. */
export const ERROR = 50;
export const WARN = 40;

const node = join(repoRoot, 'node_modules', '.bin', 'node');

export class OperatorProcess {
  readonly options: OperatorProcessOptions;
  readonly metricsPort: number;
  readonly healthPort: number;
  readonly lines: LogLine[] = [];
  /** Everything that was not a JSON log line (stack traces of a crash). */
  readonly stderr: string[] = [];
  private child: ChildProcess | undefined;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private exitPromise: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({ code: null, signal: null });
  private killedByTest = false;
  readonly startedAt = Date.now();

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
      `--leader-elect-namespace=${operatorNamespace}`,
      `--metrics-bind-address=127.0.0.1:${this.metricsPort}`,
      `--health-probe-bind-address=127.0.0.1:${this.healthPort}`,
      '--log-format=json',
      '--log-level=info',
      ...(o.flags ?? []),
    ];
    const usePdeathsig = existsSync('/usr/bin/setpriv');
    const [command, argv] = usePdeathsig ? ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', node, ...args]] : [node, args];
    const log = createWriteStream(o.logFile, { flags: 'a' });
    const child = spawn(command, argv, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env, NODE_OPTIONS: '' } });
    this.child = child;
    let buffered = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      log.write(chunk);
      buffered += chunk;
      let i: number;
      while ((i = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 1);
        if (!line.trim()) continue;
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.stderr.push(line);
        }
      }
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      log.write(chunk);
      this.stderr.push(chunk);
    });
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        log.end();
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
  get crashed(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exitInfo && !this.killedByTest ? this.exitInfo : undefined;
  }

  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exitPromise;
  }

  /** SIGKILL (a node failure, an OOM kill) or SIGTERM (a rolling update); resolves on exit. */
  async kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.running) return this.exitInfo!;
    this.killedByTest = true;
    this.child?.kill(signal);
    return this.exitPromise;
  }

  errorLines(): LogLine[] {
    return this.lines.filter((l) => l.level >= ERROR);
  }

  async metrics(): Promise<Sample[]> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
    return parseMetrics(await res.text());
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

  /** Polls /readyz until it answers 200 (the caches synced), failing fast if the process dies. */
  async waitReady(timeoutMs = 60_000): Promise<number> {
    const started = Date.now();
    await pollUntil(`operator ${this.pid} /readyz`, timeoutMs, async () => {
      if (!this.running) throw new Error(`operator exited: ${JSON.stringify(this.exitInfo)}\n${this.tail()}`);
      return (await this.readyz()) === 200;
    });
    return Date.now() - started;
  }

  tail(lines = 30): string {
    return [...this.lines.slice(-lines).map((l) => JSON.stringify(l)), ...this.stderr.slice(-10)].join('\n');
  }
}

/**
 * Polls a condition until it holds. This is waiting on a condition, never a fixed sleep: the
 * interval only bounds how often the condition is read.
 */
export async function pollUntil(what: string, timeoutMs: number, check: () => Promise<boolean>, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
      lastError = undefined;
    } catch (err) {
      lastError = err;
      if (err instanceof Error && err.message.startsWith('operator exited')) throw err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A delay that is the fault itself (how long an outage lasts, when to kill), never a wait for state. */
export function faultDelay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
