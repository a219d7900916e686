// Scenario 5: a conflicting writer. Another controller keeps force-applying the image of a
// Deployment the operator owns, under its own field manager, four times a second. The operator
// must not follow it write for write (a hot loop that two controllers can keep up forever):
// its writes per minute stay bounded, its CPU stays low, and it says what is going on with a
// Warning Event that names the other field manager. When the other writer stops, it restores
// its spec.
import { beforeAll, describe, expect, it } from 'vitest';
import { CoreEvents, Deployments } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { isWrite } from '../support/resilience/audit.ts';
import type { OperatorProcess } from '../support/operator-process.ts';
import { metricSum } from '../support/prom.ts';
import { operatorUser } from '../support/resilience/cluster.ts';
import { createModels, variedModel, waitConverged } from '../support/resilience/convergence.ts';
import { useLedger } from '../support/resilience/ledger.ts';
import { faultDelay, useResilienceScenario } from '../support/resilience/scenario.ts';

const WINDOW_MS = 60_000;
const WRITER_INTERVAL_MS = 250;
const ROGUE = 'rogue-writer';
/** One write every two seconds is already a fight; a backed-off operator writes far less. */
const MAX_WRITES_PER_MINUTE = 30;
const ledger = useLedger('5 conflicting writer');
const scenario = useResilienceScenario({ namespaces: ['conflict'] });

let op: OperatorProcess;
let windowStart: Date;
let windowEnd: Date;
let rogueWrites = 0;
let cpuSeconds = 0;

beforeAll(async () => {
  await createModels(scenario.cluster.client, [variedModel(scenario.namespace, 'contested', 6), variedModel(scenario.namespace, 'bystander', 7)]);
  op = await scenario.startOperator();
  await op.waitReady();
  await waitConverged(scenario.cluster.client, scenario.namespace, { ready: true, timeoutMs: 120_000 });

  // The fight: a writer that wants its own image, forcing ownership of the field every 250 ms.
  const cpuBefore = metricSum(await op.metrics(), 'process_cpu_seconds_total') ?? 0;
  const fault = ledger.fault('conflicting writer', `SSA force-apply of the image every ${WRITER_INTERVAL_MS} ms for ${WINDOW_MS / 1000} s`);
  windowStart = new Date();
  const until = Date.now() + WINDOW_MS;
  while (Date.now() < until) {
    await scenario.cluster.client.apply(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'contested', namespace: scenario.namespace },
        spec: { template: { spec: { containers: [{ name: 'inference', image: `rogue.example/server:${rogueWrites}` }] } } },
      } as KubeObject,
      { fieldManager: ROGUE, force: true },
    );
    rogueWrites++;
    await faultDelay(WRITER_INTERVAL_MS);
  }
  windowEnd = new Date();
  cpuSeconds = (metricSum(await op.metrics(), 'process_cpu_seconds_total') ?? 0) - cpuBefore;
  // The writer gave up: the operator must take its field back.
  await waitConverged(scenario.cluster.client, scenario.namespace, { ready: true, timeoutMs: 120_000 });
  ledger.figure('restored after the writer stopped (s)', (fault.recovered() - WINDOW_MS) / 1000);
});

describe(`a writer force-applying the Deployment image ${60_000 / WRITER_INTERVAL_MS} times a minute`, () => {
  it(`the operator's writes to it stay at most ${MAX_WRITES_PER_MINUTE} a minute`, async () => {
    const writes = (await scenario.cluster.audit.byOperator(operatorUser, windowStart)).filter(
      (e) => isWrite(e) && e.objectRef?.resource === 'deployments' && e.objectRef.name === 'contested' && new Date(e.requestReceivedTimestamp) <= windowEnd,
    );
    const perMinute = (writes.length * 60_000) / (windowEnd.getTime() - windowStart.getTime());
    ledger.figure('writer writes', rogueWrites);
    ledger.figure('operator writes per minute to the contested Deployment', perMinute);
    expect(perMinute).toBeLessThanOrEqual(MAX_WRITES_PER_MINUTE);
  });

  it('does not spin: operator CPU stays under a quarter of a core', () => {
    const share = cpuSeconds / (WINDOW_MS / 1000);
    ledger.figure('operator CPU during the fight (cores)', share);
    expect(share).toBeLessThan(0.25);
    expect(op.crashed, op.tail()).toBeUndefined();
  });

  it('emits a Warning Event naming the other field manager', async () => {
    const events = await scenario.cluster.client.listAll<KubeObject & { type?: string; reason?: string; message?: string; involvedObject?: { name?: string } }>(CoreEvents, { namespace: scenario.namespace });
    const warnings = events.filter((e) => e.type === 'Warning' && e.involvedObject?.name === 'contested');
    ledger.figure('Warning Events about the model', warnings.length ? `${warnings.length}, e.g. ${warnings[0]!.reason}: ${warnings[0]!.message}` : 'none');
    expect(warnings.some((e) => e.message?.includes(ROGUE)), `Warning Events: ${JSON.stringify(warnings.map((e) => [e.reason, e.message]))}`).toBe(true);
  });

  it('leaves the bystander alone', async () => {
    const writes = (await scenario.cluster.audit.byOperator(operatorUser, windowStart)).filter((e) => isWrite(e) && e.objectRef?.name === 'bystander' && e.objectRef.resource !== 'events');
    expect(writes.map((e) => `${e.verb} ${e.objectRef?.resource}`)).toEqual([]);
    const d = await scenario.cluster.client.get<KubeObject & { spec?: any }>(Deployments, scenario.namespace, 'bystander');
    expect(d.spec.template.spec.containers[0].image).toBe('example.com/inference:v1');
  });
});
