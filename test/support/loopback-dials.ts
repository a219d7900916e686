// Which addresses the local cluster's processes talk to. The rule here is loopback only, and the
// metrics pipeline is where it would break first (metrics-server dials nodes' addresses, KEDA and
// Prometheus dial what they are told), so its tests watch every socket of every component:
// a sampler reads the sockets each process holds (/proc/<pid>/fd) and their peers
// (/proc/net/{tcp,tcp6,udp,udp6}) until stopped. A dial to an unreachable address sits in
// SYN_SENT for seconds, far longer than the sampling interval.
import { readdir, readFile, readlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { cacheDir } from '../../hack/localcluster/cluster.ts';

export interface Dial {
  pid: number;
  process: string;
  protocol: string;
  remote: string;
}

function ipv4(hex: string): number[] {
  return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16));
}

/** The remote address of a /proc/net line as text, or undefined when it is unset (a listener). */
function remoteAddress(field: string): { address: string; loopback: boolean } | undefined {
  const [hex, portHex] = field.split(':') as [string, string];
  const port = parseInt(portHex, 16);
  if (hex.length === 8) {
    const bytes = ipv4(hex);
    if (bytes.every((b) => b === 0)) return undefined;
    return { address: `${bytes.join('.')}:${port}`, loopback: bytes[0] === 127 };
  }
  // IPv6: four 32-bit words, each in host (little-endian) order.
  const bytes = [0, 1, 2, 3].flatMap((w) => ipv4(hex.slice(w * 8, w * 8 + 8)));
  if (bytes.every((b) => b === 0)) return undefined;
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  const loopback6 = bytes.slice(0, 15).every((b) => b === 0) && bytes[15] === 1;
  const text = mapped ? `::ffff:${bytes.slice(12).join('.')}` : (bytes.map((b) => b.toString(16).padStart(2, '0')).join('').match(/.{4}/g) ?? []).join(':');
  return { address: `[${text}]:${port}`, loopback: loopback6 || (mapped && bytes[12] === 127) };
}

async function socketInodes(pid: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match) inodes.add(match[1]!);
  }
  return inodes;
}

/** Connections of these processes to anything but loopback, right now. */
export async function nonLoopbackDials(pids: number[]): Promise<Dial[]> {
  const dials: Dial[] = [];
  const byInode = new Map<string, number>();
  for (const pid of pids) for (const inode of await socketInodes(pid)) byInode.set(inode, pid);
  if (byInode.size === 0) return dials;
  for (const protocol of ['tcp', 'tcp6', 'udp', 'udp6']) {
    const table = await readFile(`/proc/net/${protocol}`, 'utf8').catch(() => '');
    for (const line of table.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const pid = byInode.get(fields[9]!);
      if (pid === undefined) continue;
      const remote = remoteAddress(fields[2]!);
      if (!remote || remote.loopback) continue;
      const name = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
      dials.push({ pid, process: name, protocol, remote: remote.address });
    }
  }
  return dials;
}

/** Samples the processes' sockets every intervalMs until stop(), which returns every non-loopback peer seen. */
export function watchDials(pids: () => number[], intervalMs = 250): { stop(): Promise<Dial[]> } {
  const seen = new Map<string, Dial>();
  let stopped = false;
  const sampling = (async () => {
    while (!stopped) {
      for (const dial of await nonLoopbackDials(pids())) seen.set(`${dial.pid} ${dial.protocol} ${dial.remote}`, dial);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await sampling;
      for (const dial of await nonLoopbackDials(pids())) seen.set(`${dial.pid} ${dial.protocol} ${dial.remote}`, dial);
      return [...seen.values()];
    },
  };
}

/** The component processes of the local cluster whose kubeconfig this is (from the cluster registry), and its log folder. */
export async function clusterComponents(kubeconfigPath: string): Promise<{ pids: number[]; logDir: string }> {
  const registry = join(cacheDir, 'clusters');
  // A test's own cluster keeps its kubeconfig in its state folder; `npm run cluster:up` copies it beside it.
  const candidates = new Set([dirname(kubeconfigPath), join(dirname(kubeconfigPath), 'state')]);
  for (const file of await readdir(registry).catch(() => [] as string[])) {
    const entry = JSON.parse(await readFile(join(registry, file), 'utf8').catch(() => '{}')) as { stateDir?: string; pids?: number[] };
    if (entry.stateDir && candidates.has(entry.stateDir)) return { pids: entry.pids ?? [], logDir: join(entry.stateDir, 'logs') };
  }
  throw new Error(`no local cluster registered for ${kubeconfigPath}`);
}

/** Dials to anything but loopback named in the components' logs (Go's "dial tcp <address>: ..." errors). */
export async function nonLoopbackDialsInLogs(logDir: string): Promise<string[]> {
  const found: string[] = [];
  for (const file of await readdir(logDir).catch(() => [] as string[])) {
    const text = await readFile(join(logDir, file), 'utf8').catch(() => '');
    for (const match of text.matchAll(/dial (?:tcp|udp)[46]? (\[[^\]]+\]|[^\s:]+):\d+/g)) {
      if (/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(match[1]!)) continue;
      found.push(`${file}: ${match[0]}`);
    }
  }
  return found;
}
