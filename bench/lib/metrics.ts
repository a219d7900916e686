// Reads the operator's Prometheus text exposition: just enough of the format to sum series.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    if (raw === '' || raw.startsWith('#')) continue;
    const m = line.exec(raw);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(label)) labels[k!] = v!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of a metric's series whose labels match every given label (a predicate for anything finer). */
export function sum(samples: readonly Sample[], name: string, match: Record<string, string> | ((labels: Record<string, string>) => boolean) = {}): number {
  const ok = typeof match === 'function' ? match : (l: Record<string, string>) => Object.entries(match).every(([k, v]) => l[k] === v);
  let total = 0;
  for (const s of samples) if (s.name === name && ok(s.labels)) total += s.value;
  return total;
}

/** What the bench reads from one scrape. */
export interface OperatorCounters {
  at: number;
  writes: number;
  reads: number;
  byMethod: Record<string, number>;
  errors: number;
  cpuSeconds: number;
  reconciles: number;
  reconcileErrors: number;
  queueDepth: number;
  activeWorkers: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
}

export function counters(samples: readonly Sample[], at: number): OperatorCounters {
  const byMethod: Record<string, number> = {};
  for (const s of samples) if (s.name === 'rest_client_requests_total') byMethod[s.labels.method ?? '?'] = (byMethod[s.labels.method ?? '?'] ?? 0) + s.value;
  const reads = byMethod.GET ?? 0;
  const writes = Object.entries(byMethod).reduce((t, [m, v]) => (m === 'GET' ? t : t + v), 0);
  return {
    at,
    writes,
    reads,
    byMethod,
    errors: sum(samples, 'rest_client_requests_total', (l) => !/^2/.test(l.code ?? '')),
    cpuSeconds: sum(samples, 'process_cpu_seconds_total'),
    reconciles: sum(samples, 'controller_runtime_reconcile_total'),
    reconcileErrors: sum(samples, 'controller_runtime_reconcile_errors_total'),
    queueDepth: sum(samples, 'workqueue_depth'),
    activeWorkers: sum(samples, 'controller_runtime_active_workers'),
    rssBytes: sum(samples, 'process_resident_memory_bytes'),
    heapUsedBytes: sum(samples, 'nodejs_heap_size_used_bytes'),
    heapTotalBytes: sum(samples, 'nodejs_heap_size_total_bytes'),
    externalBytes: sum(samples, 'nodejs_external_memory_bytes'),
  };
}

export function delta(a: OperatorCounters, b: OperatorCounters): OperatorCounters {
  const byMethod: Record<string, number> = {};
  for (const m of new Set([...Object.keys(a.byMethod), ...Object.keys(b.byMethod)])) byMethod[m] = (b.byMethod[m] ?? 0) - (a.byMethod[m] ?? 0);
  return {
    at: b.at - a.at,
    writes: b.writes - a.writes,
    reads: b.reads - a.reads,
    byMethod,
    errors: b.errors - a.errors,
    cpuSeconds: b.cpuSeconds - a.cpuSeconds,
    reconciles: b.reconciles - a.reconciles,
    reconcileErrors: b.reconcileErrors - a.reconcileErrors,
    queueDepth: b.queueDepth,
    activeWorkers: b.activeWorkers,
    rssBytes: b.rssBytes,
    heapUsedBytes: b.heapUsedBytes,
    heapTotalBytes: b.heapTotalBytes,
    externalBytes: b.externalBytes,
  };
}
