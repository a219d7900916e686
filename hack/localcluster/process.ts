// Child processes of the local control plane. Each runs under `setpriv --pdeathsig KILL`, so the
// kernel kills it when its owner dies, even by SIGKILL: a killed test run leaves no process
// holding ports for the next one. Output goes to a log file whose tail is shown when a start fails.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';

export interface ComponentSpec {
  name: string;
  binary: string;
  args: string[];
  logFile: string;
  env?: Record<string, string>;
}

export class ComponentProcess {
  readonly spec: ComponentSpec;
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);
  private stopping = false;

  constructor(spec: ComponentSpec) {
    this.spec = spec;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    const log = createWriteStream(this.spec.logFile, { flags: 'a' });
    const usePdeathsig = existsSync('/usr/bin/setpriv');
    const [command, args] = usePdeathsig
      ? ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', this.spec.binary, ...this.spec.args]]
      : [this.spec.binary, this.spec.args];
    this.stopping = false;
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...this.spec.env },
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        log.end();
        resolve(code);
      });
      child.once('error', (err) => {
        log.write(`failed to start ${this.spec.binary}: ${err.message}\n`);
        log.end();
        resolve(-1);
      });
    });
    this.child = child;
  }

  /** SIGTERM, then SIGKILL after the grace period. */
  async stop(graceMs = 5_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.stopping = true;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL, as a fault a test injects: an intended stop, not an unexpected exit. */
  kill(): Promise<number | null> {
    this.stopping = true;
    this.child?.kill('SIGKILL');
    return this.exited;
  }

  /** Resolves with the exit code if the process exits unexpectedly. */
  unexpectedExit(): Promise<number | null> {
    return this.exited.then((code) => (this.stopping ? new Promise<never>(() => {}) : code));
  }

  async logTail(lines = 30): Promise<string> {
    const text = await readFile(this.spec.logFile, 'utf8').catch(() => '');
    return text.split('\n').filter((l) => l.trim()).slice(-lines).join('\n');
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
