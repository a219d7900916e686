// The operator under test, run as a separate process (so its CPU and memory are its own), the
// way a Deployment would run it: `node src/main.ts` with flags, probed over HTTP and /proc.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../hack/localcluster/process.ts';
import { counters, parseMetrics } from './metrics.ts';
import type { OperatorCounters } from './metrics.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** Node 24 from the npm `node` package, as `npm start` uses (never the system node). */
const nodeBinary = join(repoRoot, 'node_modules', 'node', 'bin', 'node');

export interface OperatorOptions {
  kubeconfig: string;
  namespace: string;
  workers: number;
  /** Go-style duration for --sync-period; undefined keeps the operator's default. */
  syncPeriod?: string;
  extraArgs: string[];
  logFile: string;
  /** Write a V8 CPU profile into this directory on exit (--cpu-prof). */
  cpuProfDir?: string;
  /** Enable `kill -USR2` heap snapshots into this directory. */
  heapSnapshotDir?: string;
  nodeOptions?: string[];
  /** Entry point; default src/main.ts of this checkout. */
  entry?: string;
}

export class OperatorProcess {
  readonly options: OperatorOptions;
  readonly metricsPort: number;
  readonly healthPort: number;
  readonly startedAt: number;
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;

  private constructor(options: OperatorOptions, metricsPort: number, healthPort: number) {
    this.options = options;
    this.metricsPort = metricsPort;
    this.healthPort = healthPort;
    // Node's own flags go on its command line, where every V8 flag is accepted (NODE_OPTIONS
    // refuses some, --optimize-for-size among them), as the image's ENTRYPOINT gives them.
    const nodeFlags = [
      ...(options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : []),
      ...(options.heapSnapshotDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${options.heapSnapshotDir}`] : []),
      ...(options.nodeOptions ?? []),
    ];
    const args = [
      ...nodeFlags,
      options.entry ?? join(repoRoot, 'src', 'main.ts'),
      `--kubeconfig=${options.kubeconfig}`,
      `--namespaces=${options.namespace}`,
      '--leader-elect=false',
      `--metrics-bind-address=127.0.0.1:${metricsPort}`,
      `--health-probe-bind-address=127.0.0.1:${healthPort}`,
      `--workers=${options.workers}`,
      '--log-level=warn',
      '--log-format=json',
      ...(options.syncPeriod ? [`--sync-period=${options.syncPeriod}`] : []),
      ...options.extraArgs,
    ];
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.KUBECONFIG;
    // setpriv execs in place (same pid): the operator dies with the bench, even on SIGKILL.
    const setpriv = existsSync('/usr/bin/setpriv');
    const log = createWriteStream(options.logFile, { flags: 'a' });
    this.startedAt = performance.now();
    this.child = spawn(setpriv ? '/usr/bin/setpriv' : nodeBinary, setpriv ? ['--pdeathsig', 'KILL', '--', nodeBinary, ...args] : args, {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.pipe(log, { end: false });
    this.child.stderr?.pipe(log, { end: false });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => {
      log.end();
      resolve(code);
    }));
  }

  static async start(options: OperatorOptions): Promise<OperatorProcess> {
    const [metricsPort, healthPort] = [await freePort(), await freePort()];
    return new OperatorProcess(options, metricsPort!, healthPort!);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Polls /readyz until 200; resolves with the time since spawn in ms. */
  async waitReady(timeoutMs = 120_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if (!this.running) throw new Error(`the operator exited with code ${this.child.exitCode} before it was ready; see ${this.options.logFile}\n${await this.logTail()}`);
      try {
        const res = await fetch(`http://127.0.0.1:${this.healthPort}/readyz`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.status === 200) return performance.now() - this.startedAt;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`the operator was not ready within ${timeoutMs} ms; see ${this.options.logFile}\n${await this.logTail()}`);
  }

  async scrape(): Promise<OperatorCounters> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    const at = performance.now();
    const c = counters(parseMetrics(text), at);
    const proc = await this.procMemory();
    // /proc is read directly too: it is what `ps` and the kubelet see.
    if (proc) c.rssBytes = proc.rssBytes;
    return c;
  }

  /** VmRSS and VmHWM (peak RSS) from /proc/<pid>/status. */
  async procMemory(): Promise<{ rssBytes: number; peakRssBytes: number } | undefined> {
    try {
      const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
      const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
      return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
    } catch {
      return undefined;
    }
  }

  /** Writes a heap snapshot (needs heapSnapshotDir) and waits until the file stops growing. */
  async heapSnapshot(): Promise<string | undefined> {
    const dir = this.options.heapSnapshotDir;
    if (!dir) return undefined;
    const mine = async () => (await readdir(dir)).filter((f) => f.endsWith('.heapsnapshot') && f.includes(`.${this.pid}.`));
    const before = new Set(await mine());
    this.child.kill('SIGUSR2');
    let last = -1;
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const file = (await mine()).find((f) => !before.has(f));
      if (!file) continue;
      const size = (await stat(join(dir, file))).size;
      if (size > 0 && size === last) return join(dir, file);
      last = size;
    }
    return undefined;
  }

  /** SIGTERM and wait for a graceful exit; SIGKILL after 30 s. */
  async stop(): Promise<number | null> {
    if (!this.running) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async logTail(lines = 20): Promise<string> {
    const text = await readFile(this.options.logFile, 'utf8').catch(() => '');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  }
}
