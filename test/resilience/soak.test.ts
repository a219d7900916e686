// Scenario 9: soak. Many models with 10% of them changed at the start of every wave: after each
// wave the work queue returns to empty (workqueue_depth) and everything converges, and the
// operator's live heap (after a full GC, read through the inspector) does not grow between waves.
//
// The full soak (1,000 models, one wave a minute for 10 minutes) is opt-in: RESILIENCE_SOAK=1.
// By default (CI) a short soak runs the same checks: 200 models, 3 waves of 20 seconds.
import { beforeAll, describe, expect, it } from 'vitest';
import { poll } from '../../hack/localcluster/cluster.ts';
import { freePort } from '../../hack/localcluster/process.ts';
import type { OperatorProcess } from '../support/operator-process.ts';
import { metricSum } from '../support/prom.ts';
import { createModels, mutateModel, mapLimit, variedModel, waitConverged } from '../support/resilience/convergence.ts';
import { heapAfterGc } from '../support/resilience/inspector.ts';
import { useLedger } from '../support/resilience/ledger.ts';
import { seededRng } from '../support/resilience/rng.ts';
import { faultDelay, useResilienceScenario } from '../support/resilience/scenario.ts';

const FULL = process.env.RESILIENCE_SOAK === '1';
const MODELS = FULL ? 1000 : 200;
const WAVES = FULL ? 10 : 3;
const WAVE_MS = FULL ? 60_000 : 20_000;
const CHURN = 0.1;
const ledger = useLedger(`9 soak (${FULL ? 'full' : 'short; RESILIENCE_SOAK=1 for the full soak'})`);
const rng = seededRng();
const scenario = useResilienceScenario({ namespaces: ['soak'] });

let op: OperatorProcess;
let inspectPort: number;
const names = Array.from({ length: MODELS }, (_, i) => `m-${i}`);

beforeAll(async () => {
  inspectPort = await freePort();
  op = await scenario.startOperator({ inspectPort });
  ledger.figure('seed', rng.seed);
  ledger.figure('models / waves / wave', `${MODELS} / ${WAVES} / ${WAVE_MS / 1000} s`);
});

const depth = async (): Promise<number> => metricSum(await op.metrics(), 'workqueue_depth', { name: 'aimodel' }) ?? -1;

/** Waits until the namespace converged and the queue is empty at the same moment; returns the peak depth seen. */
async function drain(timeoutMs: number): Promise<number> {
  let peak = 0;
  await poll('the queue to drain', timeoutMs, async () => {
    const d = await depth();
    peak = Math.max(peak, d);
    return d === 0;
  }, { intervalMs: 500 });
  await waitConverged(scenario.cluster.client, scenario.namespace, { ready: true, timeoutMs, expectModels: MODELS, intervalMs: 2_000 });
  await poll('the queue to be empty after convergence', 30_000, async () => (await depth()) === 0, { intervalMs: 500 });
  return peak;
}

describe(`${MODELS} models, ${CHURN * 100}% churn per wave, ${WAVES} waves`, () => {
  it('converges initially', async () => {
    await op.waitReady();
    const started = Date.now();
    await createModels(scenario.cluster.client, names.map((name, i) => variedModel(scenario.namespace, name, i)), 8);
    await drain(FULL ? 900_000 : 300_000);
    ledger.figure('initial convergence (s)', (Date.now() - started) / 1000);
  });

  it('empties the queue after every wave, and the heap does not grow between waves', async () => {
    const heaps: number[] = [];
    const drains: number[] = [];
    for (let wave = 1; wave <= WAVES; wave++) {
      const waveStart = Date.now();
      const fault = ledger.fault('churn wave', `${CHURN * MODELS} spec changes`);
      await mapLimit(rng.sample(names, CHURN * MODELS), 8, (name) => mutateModel(scenario.cluster.client, scenario.namespace, name, rng));
      const peak = await drain(WAVE_MS * 3);
      drains.push(fault.recovered());
      const heap = await heapAfterGc(inspectPort);
      heaps.push(heap.usedBytes);
      ledger.figure(`wave ${wave}`, `peak depth ${peak}, drained in ${(drains.at(-1)! / 1000).toFixed(1)} s, heap ${(heap.usedBytes / 2 ** 20).toFixed(1)} MiB`);
      process.stderr.write(`[soak] wave ${wave}/${WAVES}: peak depth ${peak}, drained in ${(drains.at(-1)! / 1000).toFixed(1)} s, heap ${(heap.usedBytes / 2 ** 20).toFixed(1)} MiB\n`);
      expect(op.crashed, op.tail()).toBeUndefined();
      // The next wave starts on the minute (the load's schedule, not a wait for state).
      const rest = waveStart + WAVE_MS - Date.now();
      if (rest > 0 && wave < WAVES) await faultDelay(rest);
    }
    const rss = metricSum(await op.metrics(), 'process_resident_memory_bytes') ?? 0;
    ledger.figure('rss at end (MiB)', rss / 2 ** 20);
    ledger.figure('error log lines', op.errorLines().length);
    // Wave 1 warms caches and pools; from there the live heap must stay within noise.
    const baseline = heaps[0]!;
    const growth = heaps.at(-1)! - baseline;
    ledger.figure('heap growth wave 1 to last (MiB)', growth / 2 ** 20);
    expect(growth, `heap after each wave: ${heaps.map((h) => (h / 2 ** 20).toFixed(1)).join(', ')} MiB`).toBeLessThanOrEqual(baseline * 0.1 + 4 * 2 ** 20);
  });
});
