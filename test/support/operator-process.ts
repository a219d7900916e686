// The operator as a real process (`node src/main.ts`), for what only a process shows: signals,
// exit codes, leader election between replicas.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { freePort } from '../../src/localcluster/process.ts';

const mainScript = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface LogLine {
  level: number;
  time: string;
  msg: string;
  [key: string]: unknown;
}

export interface OperatorProcess {
  child: ChildProcess;
  metricsPort: number;
  healthPort: number;
  logs: LogLine[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first log line that matches, including lines already seen. */
  waitForLog(match: (line: LogLine) => boolean): Promise<LogLine>;
  metrics(): Promise<string>;
  /** Value of one sample on /metrics, e.g. `leader_election_master_status{name="x"}`; undefined if absent. */
  sample(series: string): Promise<number | undefined>;
  ready(): Promise<boolean>;
}

const running = new Set<ChildProcess>();
afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startOperatorProcess(kubeconfigPath: string, flags: string[]): Promise<OperatorProcess> {
  const metricsPort = await freePort();
  const healthPort = await freePort();
  const child = spawn(
    process.execPath,
    [mainScript, `--kubeconfig=${kubeconfigPath}`, `--metrics-bind-address=127.0.0.1:${metricsPort}`, `--health-probe-bind-address=127.0.0.1:${healthPort}`, '--log-format=json', ...flags],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  const logs: LogLine[] = [];
  const waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let i: number;
    while ((i = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        continue;
      }
      logs.push(line);
      for (const w of [...waiters]) {
        if (w.match(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      if (code !== 0 && stderr) process.stderr.write(`[operator ${child.pid} stderr]\n${stderr}\n`);
      resolve({ code, signal });
    }),
  );
  const base = `http://127.0.0.1:${metricsPort}`;
  const proc: OperatorProcess = {
    child,
    metricsPort,
    healthPort,
    logs,
    exited,
    waitForLog(match) {
      const seen = logs.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    async metrics() {
      const res = await fetch(`${base}/metrics`);
      return res.text();
    },
    async sample(series) {
      const text = await proc.metrics().catch(() => '');
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line ? Number(line.slice(series.length + 1)) : undefined;
    },
    async ready() {
      const res = await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined);
      return res?.status === 200;
    },
  };
  return proc;
}
