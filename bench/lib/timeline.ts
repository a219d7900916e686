// The autoscaling scenario's record: every replica change the bench's watches saw, with when it
// saw it, and the pure computations over it (the delays from a load step, the plot).
import { Canvas } from './png.ts';
import type { Rgb } from './png.ts';

/** One observed state of a model's Deployment or of the HPA that scales it (ms since the scenario began). */
export type ReplicaEvent =
  | { atMs: number; model: string; source: 'deployment'; spec: number; replicas: number; ready: number }
  | { atMs: number; model: string; source: 'hpa'; desired: number };

/** A load step: from atMs on, every pod of every model reports `value` (e.g. requests waiting). */
export interface LoadStep {
  atMs: number;
  value: number;
}

export interface StepDelays {
  /** Step → the first scale decision: the HPA's desiredReplicas or the Deployment's spec.replicas moving away from `from`. */
  decisionMs: number | undefined;
  /** Up: step → a pod beyond `from` Ready. Down: step → the Deployment's pods down to fewer than `from`. */
  firstPodsMs: number | undefined;
  /** Step → the Deployment at `to`: spec.replicas, pods and (up) Ready pods all there. */
  settledMs: number | undefined;
}

/**
 * The delays of one model after a load step from `from` replicas towards `to` (up when to > from),
 * from the events recorded after the step. An event is the whole state of its object then, so the
 * first event meeting a condition is when the bench learned of it.
 */
export function stepDelays(events: readonly ReplicaEvent[], model: string, stepAtMs: number, from: number, to: number): StepDelays {
  const up = to > from;
  const after = events.filter((e) => e.model === model && e.atMs >= stepAtMs).sort((a, b) => a.atMs - b.atMs);
  const moved = (n: number) => (up ? n > from : n < from);
  const first = (pred: (e: ReplicaEvent) => boolean) => {
    const e = after.find(pred);
    return e ? e.atMs - stepAtMs : undefined;
  };
  return {
    decisionMs: first((e) => (e.source === 'hpa' ? moved(e.desired) : moved(e.spec))),
    firstPodsMs: first((e) => e.source === 'deployment' && (up ? e.ready > from : e.replicas < from)),
    settledMs: first((e) => e.source === 'deployment' && e.spec === to && e.replicas === to && (!up || e.ready === to)),
  };
}

/** The Deployment state of every model at each change, summed over models: [atMs, spec, ready]. */
export function summedReplicas(events: readonly ReplicaEvent[]): { atMs: number; spec: number; ready: number }[] {
  const latest = new Map<string, { spec: number; ready: number }>();
  const out: { atMs: number; spec: number; ready: number }[] = [];
  for (const e of [...events].sort((a, b) => a.atMs - b.atMs)) {
    if (e.source !== 'deployment') continue;
    latest.set(e.model, { spec: e.spec, ready: e.ready });
    let spec = 0;
    let ready = 0;
    for (const v of latest.values()) {
      spec += v.spec;
      ready += v.ready;
    }
    out.push({ atMs: e.atMs, spec, ready });
  }
  return out;
}

const BLACK: Rgb = [0, 0, 0];
const GRID: Rgb = [225, 225, 225];
const LOAD: Rgb = [200, 90, 20];
const SPEC: Rgb = [40, 90, 200];
const READY: Rgb = [30, 150, 60];
const STEP: Rgb = [200, 30, 30];

/** A tick step of 1, 2 or 5 × 10^k giving about `count` ticks up to max. */
export function tickStep(max: number, count = 6): number {
  const raw = Math.max(max, 1e-9) / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw)!;
}

/**
 * Two panels over the same time axis: the load per pod (top), and the replicas of all models
 * summed (bottom; spec.replicas and Ready pods), with the load steps as red dashed lines.
 */
export function plotTimeline(events: readonly ReplicaEvent[], steps: readonly LoadStep[], options: { title: string; loadLabel: string; endMs: number; width?: number; height?: number }): Canvas {
  const width = options.width ?? 1200;
  const height = options.height ?? 720;
  const c = new Canvas(width, height);
  const left = 90;
  const right = width - 30;
  const endS = Math.max(options.endMs / 1000, 1);
  const x = (ms: number) => left + ((right - left) * ms) / 1000 / endS;
  c.text(left, 8, options.title, BLACK, 2);

  const panel = (top: number, bottom: number, maxY: number, label: string, series: { color: Rgb; width: number; points: { atMs: number; y: number }[] }[]) => {
    const yStep = tickStep(maxY, 4);
    const yMax = Math.ceil(maxY / yStep) * yStep || yStep;
    const y = (v: number) => bottom - ((bottom - top) * v) / yMax;
    for (let v = 0; v <= yMax + 1e-9; v += yStep) {
      c.line(left, y(v), right, y(v), GRID);
      const tick = String(Number(v.toFixed(3)));
      c.text(left - 10 - Canvas.textWidth(tick), y(v) - 7, tick, BLACK);
    }
    for (const s of steps) c.line(x(s.atMs), top, x(s.atMs), bottom, STEP, 2, true);
    c.line(left, top, left, bottom, BLACK, 2);
    c.line(left, bottom, right, bottom, BLACK, 2);
    c.text(left, top - 18, label, BLACK);
    // Step lines: hold each value until the next, to the end of the record.
    for (const s of series) {
      s.points.forEach((p, i) => {
        const next = s.points[i + 1]?.atMs ?? options.endMs;
        c.line(x(p.atMs), y(p.y), x(next), y(p.y), s.color, s.width);
        if (s.points[i + 1]) c.line(x(next), y(p.y), x(next), y(s.points[i + 1]!.y), s.color, s.width);
      });
    }
  };

  const loadPoints = [{ atMs: 0, y: 0 }, ...steps.map((s) => ({ atMs: s.atMs, y: s.value }))];
  panel(56, 230, Math.max(...loadPoints.map((p) => p.y), 1), options.loadLabel, [{ color: LOAD, width: 3, points: loadPoints }]);

  const sums = summedReplicas(events);
  const maxReplicas = Math.max(...sums.map((s) => Math.max(s.spec, s.ready)), 1);
  const bottom = height - 110;
  panel(276, bottom, maxReplicas, 'replicas, all models summed', [
    // spec.replicas wide underneath, Ready pods narrow on top: both show where they coincide.
    { color: SPEC, width: 7, points: sums.map((s) => ({ atMs: s.atMs, y: s.spec })) },
    { color: READY, width: 3, points: sums.map((s) => ({ atMs: s.atMs, y: s.ready })) },
  ]);

  const tStep = tickStep(endS, 10);
  for (let t = 0; t <= endS + 1e-9; t += tStep) {
    c.line(x(t * 1000), bottom, x(t * 1000), bottom + 6, BLACK, 2);
    const tick = String(Number(t.toFixed(3)));
    c.text(x(t * 1000) - Canvas.textWidth(tick) / 2, bottom + 12, tick, BLACK);
  }
  c.text((left + right) / 2 - Canvas.textWidth('time (s)') / 2, bottom + 36, 'time (s)', BLACK);
  // Legend
  let lx = left;
  const ly = height - 20;
  for (const [color, label] of [[LOAD, 'load'], [SPEC, 'spec.replicas (scale decision)'], [READY, 'ready pods'], [STEP, 'load step']] as [Rgb, string][]) {
    c.line(lx, ly, lx + 30, ly, color, 3, color === STEP);
    c.text(lx + 38, ly - 7, label, BLACK);
    lx += 38 + Canvas.textWidth(label) + 30;
  }
  return c;
}
