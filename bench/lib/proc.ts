// CPU time of the control plane's own processes, read from /proc: the API server's and etcd's
// work for a phase, which unlike wall time does not stretch when other programs share the CPUs.
import { readdir, readFile } from 'node:fs/promises';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

async function stat(pid: number): Promise<{ comm: string; ppid: number; cpuSeconds: number } | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may contain spaces; the fields after it are space-separated.
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    // fields[0] is state (field 3); ppid is field 4, utime 14, stime 15.
    return { comm, ppid: Number(fields[1]), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/** The kube-apiserver and etcd this process started (the LocalCluster's components are its children). */
export async function controlPlanePids(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = await stat(Number(entry));
    if (s && s.ppid === process.pid && (s.comm === 'kube-apiserver' || s.comm === 'etcd')) pids.push(Number(entry));
  }
  return pids;
}

/** Total CPU seconds (user + system) the processes have used so far. */
export async function cpuSeconds(pids: readonly number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) total += (await stat(pid))?.cpuSeconds ?? 0;
  return total;
}

/** The 1-minute load average. */
export async function loadAverage(): Promise<number> {
  return Number((await readFile('/proc/loadavg', 'utf8')).split(' ')[0]);
}
