// Turns repeat results into the summary table (medians with min-max) and the target verdicts.
import type { RepeatResult } from './phases.ts';
import { quantile, slope, spread } from './stats.ts';
import type { Spread } from './stats.ts';

export interface Row {
  metric: string;
  target: string;
  cells: Record<number, string>;
}

export interface Verdict {
  target: string;
  met: boolean | undefined;
  detail: string;
}

export interface Summary {
  sizes: number[];
  rows: Row[];
  verdicts: Verdict[];
  /** Least-squares RSS slope across N (KB per model), from the per-N medians. */
  rssSlopeKbPerModel: number;
  restartRssSlopeKbPerModel: number;
  heapSlopeKbPerModel: number;
  values: Record<number, Record<string, Spread>>;
}

function fmt(x: number, digits: number): string {
  if (!Number.isFinite(x)) return '-';
  return x.toFixed(digits);
}

function cell(s: Spread | undefined, digits: number): string {
  if (!s || s.n === 0) return '-';
  if (s.n === 1 || s.min === s.max) return fmt(s.median, digits);
  return `${fmt(s.median, digits)} [${fmt(s.min, digits)}–${fmt(s.max, digits)}]`;
}

const MB = 2 ** 20;

export function summarize(results: RepeatResult[]): Summary {
  const sizes = [...new Set(results.map((r) => r.n))].sort((a, b) => a - b);
  const values: Record<number, Record<string, Spread>> = {};
  const latencyCells: Record<string, Record<number, string>> = { p50idle: {}, p99idle: {}, p50floor: {}, p99floor: {}, p50churn: {}, p99churn: {} };
  const pooled: Record<number, { idle: number[]; churn: number[] }> = {};
  for (const n of sizes) {
    const rs = results.filter((r) => r.n === n);
    const pick = (f: (r: RepeatResult) => number | undefined) => spread(rs.map(f).filter((v): v is number => v !== undefined));
    const idle = rs.flatMap((r) => r.latency?.idleMs ?? []);
    const idleFloor = rs.flatMap((r) => r.latency?.idleFloorMs ?? []);
    const churn = rs.flatMap((r) => r.latency?.churnMs ?? []);
    pooled[n] = { idle, churn };
    values[n] = {
      operatorSeconds: pick((r) => r.operator?.seconds),
      floorSeconds: pick((r) => r.floor?.seconds),
      ratio: pick((r) => r.ratio),
      cpOperator: pick((r) => r.operator?.controlPlaneCpuSeconds),
      cpFloor: pick((r) => r.floor?.controlPlaneCpuSeconds),
      cpRatio: pick((r) => (r.operator && r.floor ? r.operator.controlPlaneCpuSeconds / r.floor.controlPlaneCpuSeconds : undefined)),
      operatorWritesPerModel: pick((r) => r.operator?.writesPerModel),
      operatorCpu: pick((r) => r.operator?.cpuSeconds),
      emptyReadyS: pick((r) => (r.emptyReadyMs === undefined ? undefined : r.emptyReadyMs / 1000)),
      floorWritesPerModel: pick((r) => r.floor?.writesPerModel),
      settledSeconds: pick((r) => r.operator?.settledSeconds),
      idleWrites: pick((r) => r.idle?.writes),
      idleReads: pick((r) => r.idle?.reads),
      idleCpu: pick((r) => r.idle?.cpuSeconds),
      rssMb: pick((r) => (r.memory ? r.memory.settledRssBytes / MB : undefined)),
      heapMb: pick((r) => (r.memory ? r.memory.settledHeapBytes / MB : undefined)),
      rssKb: pick((r) => r.memory?.rssKbPerModel),
      restartRssMb: spread(rs.flatMap((r) => r.startup.map((s) => s.rssBytes / MB))),
      restartHeapMb: spread(rs.flatMap((r) => r.startup.map((s) => s.heapUsedBytes / MB))),
      restartRssKb: spread(rs.flatMap((r) => (r.memory ? r.startup.map((s) => (s.rssBytes - r.memory!.baselineRssBytes) / 1024 / r.n) : []))),
      heapKb: pick((r) => r.memory?.heapKbPerModel),
      readyS: spread(rs.flatMap((r) => r.startup.map((s) => s.readyMs / 1000))),
      drainedS: spread(rs.flatMap((r) => r.startup.map((s) => s.drainedMs / 1000))),
      restartWrites: spread(rs.flatMap((r) => r.startup.map((s) => s.writes))),
      p99idleRepeat: pick((r) => (r.latency?.idleMs.length ? quantile(r.latency.idleMs, 0.99) : undefined)),
      p99churnRepeat: pick((r) => (r.latency?.churnMs.length ? quantile(r.latency.churnMs, 0.99) : undefined)),
    };
    const perRepeat = (key: 'idleMs' | 'idleFloorMs' | 'churnMs', q: number) => spread(rs.map((r) => (r.latency?.[key].length ? quantile(r.latency[key], q) : Number.NaN)));
    const latency = (samples: number[], q: number, key: 'idleMs' | 'idleFloorMs' | 'churnMs'): string => {
      if (samples.length === 0) return '-';
      const s = perRepeat(key, q);
      const range = s.n > 1 && s.min !== s.max ? ` [${fmt(s.min, 1)}–${fmt(s.max, 1)}]` : '';
      return `${fmt(quantile(samples, q), 1)}${range} (${samples.length})`;
    };
    latencyCells.p50idle![n] = latency(idle, 0.5, 'idleMs');
    latencyCells.p99idle![n] = latency(idle, 0.99, 'idleMs');
    latencyCells.p50floor![n] = latency(idleFloor, 0.5, 'idleFloorMs');
    latencyCells.p99floor![n] = latency(idleFloor, 0.99, 'idleFloorMs');
    latencyCells.p50churn![n] = latency(churn, 0.5, 'churnMs');
    latencyCells.p99churn![n] = latency(churn, 0.99, 'churnMs');
  }
  const row = (metric: string, target: string, key: string, digits: number): Row => ({
    metric,
    target,
    cells: Object.fromEntries(sizes.map((n) => [n, cell(values[n]![key], digits)])),
  });
  const rows: Row[] = [
    row('convergence, operator (s)', '', 'operatorSeconds', 2),
    row('convergence, floor (s)', '', 'floorSeconds', 2),
    row('ratio operator/floor', '≤ 1.25 at N=1000', 'ratio', 2),
    row('API server + etcd CPU s, operator', '', 'cpOperator', 1),
    row('API server + etcd CPU s, floor', '', 'cpFloor', 1),
    row('ratio of that CPU, operator/floor', '', 'cpRatio', 2),
    row('operator writes per model', '', 'operatorWritesPerModel', 2),
    row('operator CPU s until converged', '', 'operatorCpu', 1),
    row('floor writes per model', '', 'floorWritesPerModel', 2),
    row('all models Ready (s)', '', 'settledSeconds', 1),
    row('idle: writes over the resyncs', '0', 'idleWrites', 0),
    row('idle: reads over the resyncs', '', 'idleReads', 0),
    row('idle: CPU s over the resyncs', '', 'idleCpu', 2),
    row('RSS after convergence (MiB)', '', 'rssMb', 0),
    row('V8 heap used (MiB)', '', 'heapMb', 0),
    row('RSS per model (KB)', '≤ 15 at N=10000', 'rssKb', 1),
    row('heap per model (KB)', '', 'heapKb', 1),
    row('RSS after a restart (MiB)', '', 'restartRssMb', 0),
    row('V8 heap after a restart (MiB)', '', 'restartHeapMb', 0),
    row('RSS per model after a restart (KB)', '', 'restartRssKb', 1),
    { metric: 'spec→Deployment p50, idle (ms)', target: '', cells: latencyCells.p50idle! },
    { metric: 'spec→Deployment p99, idle (ms)', target: '≤ 50', cells: latencyCells.p99idle! },
    { metric: 'same, floor p50, idle (ms)', target: '', cells: latencyCells.p50floor! },
    { metric: 'same, floor p99, idle (ms)', target: '', cells: latencyCells.p99floor! },
    { metric: 'spec→Deployment p50, churn (ms)', target: '', cells: latencyCells.p50churn! },
    { metric: 'spec→Deployment p99, churn (ms)', target: '', cells: latencyCells.p99churn! },
    row('start-up to /readyz (s)', '≤ 5 at N=10000', 'readyS', 2),
    row('start-up to all reconciled (s)', '', 'drainedS', 2),
    row('start-up with no models (s)', '', 'emptyReadyS', 2),
    row('writes on restart', '0', 'restartWrites', 0),
  ];
  const slopeOf = (key: string) => slope(sizes.filter((n) => values[n]![key]!.n > 0).map((n) => ({ x: n, y: values[n]![key]!.median * 1024 })));
  const rssSlopeKbPerModel = slopeOf('rssMb');
  const restartRssSlopeKbPerModel = slopeOf('restartRssMb');
  const heapSlopeKbPerModel = slopeOf('heapMb');

  const verdicts: Verdict[] = [];
  const at = (n: number, key: string): Spread | undefined => (values[n]?.[key]?.n ? values[n]![key] : undefined);
  const largest = (key: string): number | undefined => [...sizes].reverse().find((n) => at(n, key));
  const threshold = (target: string, n: number, key: string, limit: number, unit: string, digits: number) => {
    const s = at(n, key);
    if (s) verdicts.push({ target, met: s.median <= limit, detail: `median ${fmt(s.median, digits)}${unit} at N=${n}` });
    else {
      const m = largest(key);
      verdicts.push({ target, met: undefined, detail: m === undefined ? 'not measured' : `not measured at N=${n}; ${fmt(at(m, key)!.median, digits)}${unit} at N=${m}` });
    }
  };
  threshold('convergence within 1.25x the floor at N=1000', 1000, 'ratio', 1.25, 'x', 2);
  const idleSizes = sizes.filter((n) => at(n, 'idleWrites'));
  verdicts.push({
    target: '0 writes on idle resync',
    met: idleSizes.length ? idleSizes.every((n) => values[n]!.idleWrites!.max === 0) : undefined,
    detail: idleSizes.length ? idleSizes.map((n) => `max ${values[n]!.idleWrites!.max} at N=${n}`).join(', ') : 'not measured',
  });
  threshold('≤ 15 KB RSS per model at N=10000', 10_000, 'rssKb', 15, ' KB', 1);
  const latSizes = sizes.filter((n) => pooled[n]!.idle.length > 0);
  verdicts.push({
    target: 'spec-change p99 at idle ≤ 50 ms',
    met: latSizes.length ? latSizes.every((n) => quantile(pooled[n]!.idle, 0.99) <= 50) : undefined,
    detail: latSizes.length ? latSizes.map((n) => `${fmt(quantile(pooled[n]!.idle, 0.99), 1)} ms at N=${n}`).join(', ') : 'not measured',
  });
  threshold('ready within 5 s with 10,000 models', 10_000, 'readyS', 5, ' s', 2);
  return { sizes, rows, verdicts, rssSlopeKbPerModel, restartRssSlopeKbPerModel, heapSlopeKbPerModel, values };
}

export function textTable(summary: Summary): string {
  const header = ['metric', 'target', ...summary.sizes.map((n) => `N=${n}`)];
  const body = summary.rows.map((r) => [r.metric, r.target, ...summary.sizes.map((n) => r.cells[n] ?? '-')]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function markdownTable(summary: Summary): string {
  const header = ['metric', 'target', ...summary.sizes.map((n) => `N=${n}`)];
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`];
  for (const r of summary.rows) lines.push(`| ${[r.metric, r.target, ...summary.sizes.map((n) => r.cells[n] ?? '-')].join(' | ')} |`);
  return lines.join('\n');
}

export function verdictLines(summary: Summary): string[] {
  return summary.verdicts.map((v) => `${v.met === undefined ? 'n/a ' : v.met ? 'MET ' : 'MISS'}  ${v.target}: ${v.detail}`);
}

export function slopeLine(summary: Summary): string | undefined {
  const f = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} KB` : '-');
  if (!Number.isFinite(summary.rssSlopeKbPerModel)) return undefined;
  return `Slope across N, per model: RSS after convergence ${f(summary.rssSlopeKbPerModel)}, V8 heap ${f(summary.heapSlopeKbPerModel)}, RSS after a restart ${f(summary.restartRssSlopeKbPerModel)}.`;
}
