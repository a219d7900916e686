import { describe, expect, it } from 'vitest';
import { stepDelays, summedReplicas, tickStep } from './timeline.ts';
import type { ReplicaEvent } from './timeline.ts';

const dep = (atMs: number, model: string, spec: number, replicas: number, ready: number): ReplicaEvent => ({ atMs, model, source: 'deployment', spec, replicas, ready });
const hpa = (atMs: number, model: string, desired: number): ReplicaEvent => ({ atMs, model, source: 'hpa', desired });

// A model at 1 replica: load steps up at 1000 ms, its HPA decides 2 then 4, pods come and get
// Ready; load steps down at 10000 ms and it returns to 1.
const recorded: ReplicaEvent[] = [
  dep(0, 'a', 1, 1, 1),
  hpa(0, 'a', 1),
  hpa(500, 'a', 1), // before the step: not a decision
  dep(900, 'b', 1, 1, 1),
  hpa(3200, 'a', 2),
  dep(3250, 'a', 2, 1, 1),
  dep(3300, 'a', 2, 2, 1),
  dep(4100, 'a', 2, 2, 2),
  hpa(8200, 'a', 4),
  dep(8250, 'a', 4, 4, 2),
  dep(9000, 'a', 4, 4, 4),
  hpa(18_000, 'a', 1),
  dep(18_050, 'a', 1, 4, 4),
  dep(18_100, 'a', 1, 1, 1),
];

describe('stepDelays', () => {
  it('up: the HPA decision, the first new pod Ready, and all at the target', () => {
    expect(stepDelays(recorded, 'a', 1000, 1, 4)).toEqual({ decisionMs: 2200, firstPodsMs: 3100, settledMs: 8000 });
  });

  it('down: the decision, the first pods gone, and back at the target', () => {
    expect(stepDelays(recorded, 'a', 10_000, 4, 1)).toEqual({ decisionMs: 8000, firstPodsMs: 8100, settledMs: 8100 });
  });

  it('takes a Deployment change as the decision when no HPA event came first, and ignores events before the step', () => {
    const events = [dep(0, 'c', 1, 1, 1), dep(100, 'c', 3, 1, 1), dep(2000, 'c', 3, 3, 1)];
    expect(stepDelays(events, 'c', 50, 1, 3)).toEqual({ decisionMs: 50, firstPodsMs: undefined, settledMs: undefined });
    expect(stepDelays(events, 'c', 150, 1, 3).decisionMs).toBe(1850);
  });

  it('leaves undefined what never happened, and only looks at its model', () => {
    expect(stepDelays(recorded, 'b', 1000, 1, 4)).toEqual({ decisionMs: undefined, firstPodsMs: undefined, settledMs: undefined });
  });
});

describe('summedReplicas', () => {
  it('sums the latest Deployment state of every model at each change', () => {
    const sums = summedReplicas([dep(0, 'a', 1, 1, 1), dep(5, 'b', 1, 1, 0), hpa(6, 'a', 3), dep(10, 'a', 3, 3, 1), dep(20, 'b', 1, 1, 1)]);
    expect(sums).toEqual([
      { atMs: 0, spec: 1, ready: 1 },
      { atMs: 5, spec: 2, ready: 1 },
      { atMs: 10, spec: 4, ready: 1 },
      { atMs: 20, spec: 4, ready: 2 },
    ]);
  });
});

describe('tickStep', () => {
  it('picks 1, 2 or 5 times a power of ten', () => {
    expect(tickStep(120, 6)).toBe(20);
    expect(tickStep(20, 4)).toBe(5);
    expect(tickStep(4, 4)).toBe(1);
    expect(tickStep(0.9, 4)).toBe(0.5);
  });
});
