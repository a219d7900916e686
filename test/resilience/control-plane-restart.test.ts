// Scenario 2: etcd and the API server are killed and restarted under a running operator. Its
// watches resume, a model changed while the API server was down (written straight into etcd,
// the only way to change anything then) is reconciled after it returns, its readiness drops
// while it cannot see the cluster and recovers after, and nothing crashes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AIModels } from '../../src/controllers/aimodel/setup.ts';
import { ApiError } from '../../src/kube/errors.ts';
import { Deployments } from '../../src/kube/resources.ts';
import { poll } from '../../hack/localcluster/cluster.ts';
import type { OperatorProcess } from '../support/operator-process.ts';
import { aimodelKey } from '../support/resilience/cluster.ts';
import { createModels, variedModel, waitConverged } from '../support/resilience/convergence.ts';
import type { Obj } from '../support/resilience/convergence.ts';
import { useLedger } from '../support/resilience/ledger.ts';
import { faultDelay, useResilienceScenario } from '../support/resilience/scenario.ts';

const MODELS = 30;
const OUTAGE_MS = 10_000;
const ledger = useLedger('2 API server and etcd restarted');
const scenario = useResilienceScenario({ namespaces: ['restart'] });

let op: OperatorProcess;
const readiness: { at: number; status: number }[] = [];
let sampling = true;
let apiserverDown: { from: number; to: number } | undefined;

beforeAll(async () => {
  await createModels(scenario.cluster.client, Array.from({ length: MODELS }, (_, i) => variedModel(scenario.namespace, `m-${i}`, i)));
  op = await scenario.startOperator();
  await op.waitReady();
  await waitConverged(scenario.cluster.client, scenario.namespace, { ready: true, timeoutMs: 120_000 });
  // Readiness is sampled throughout (an observation; nothing waits on it).
  void (async () => {
    while (sampling) {
      readiness.push({ at: Date.now(), status: await op.readyz() });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
});

afterAll(() => {
  sampling = false;
});

/** Retries a write while the control plane is still coming back (etcd reconnecting: 5xx, 429). */
async function whenServing<T>(what: string, fn: () => Promise<T>): Promise<T> {
  let result: T | undefined;
  await poll(what, 60_000, async () => {
    try {
      result = await fn();
      return true;
    } catch (err) {
      if (err instanceof ApiError && (err.status === 0 || err.status >= 500 || err.status === 429)) return false;
      throw err;
    }
  });
  return result!;
}

async function waitImage(name: string, image: string, timeoutMs = 120_000): Promise<void> {
  await poll(`Deployment ${name} to run ${image}`, timeoutMs, async () => {
    const d = await scenario.cluster.client.find<Obj>(Deployments, scenario.namespace, name);
    return d?.spec?.template?.spec?.containers?.[0]?.image === image;
  });
}

describe('control plane restarts', () => {
  it('survives an etcd crash: watches resume and a change made after it is reconciled', async () => {
    const fault = ledger.fault('etcd SIGKILL', `${OUTAGE_MS / 2} ms down`);
    await scenario.cluster.local.stopComponent('etcd', 'SIGKILL');
    await faultDelay(OUTAGE_MS / 2);
    await scenario.cluster.local.startComponent('etcd');
    await whenServing('a spec change after etcd returned', () =>
      scenario.cluster.client.patch(AIModels, scenario.namespace, 'm-1', { spec: { image: 'example.com/inference:after-etcd' } }, { kind: 'merge' }),
    );
    await waitImage('m-1', 'example.com/inference:after-etcd');
    ledger.figure('etcd: change reconciled after (s)', fault.recovered() / 1000);
    expect(op.crashed, op.tail()).toBeUndefined();
  });

  it('reconciles a model changed while the API server was down', async () => {
    const fault = ledger.fault('kube-apiserver SIGKILL', `${OUTAGE_MS} ms down, model changed in etcd meanwhile`);
    const from = Date.now();
    await scenario.cluster.local.stopComponent('kube-apiserver', 'SIGKILL');
    // The only way to change an AIModel now: write it where the API server keeps it.
    const key = aimodelKey(scenario.namespace, 'm-2');
    const stored = await scenario.cluster.etcdGet(key);
    expect(stored, 'm-2 in etcd').toBeDefined();
    stored!.spec.image = 'example.com/inference:while-down';
    stored!.metadata.generation = (stored!.metadata.generation ?? 1) + 1;
    await scenario.cluster.etcdPut(key, stored);
    await faultDelay(OUTAGE_MS);
    const restartedAt = Date.now();
    await scenario.cluster.local.startComponent('kube-apiserver');
    apiserverDown = { from, to: Date.now() };
    await waitImage('m-2', 'example.com/inference:while-down');
    ledger.figure('API server: outage change reconciled after restart (s)', (Date.now() - restartedAt) / 1000);
    // Watches resumed: a change made through the API server now is reconciled as well.
    await whenServing('a spec change after the API server returned', () =>
      scenario.cluster.client.patch(AIModels, scenario.namespace, 'm-3', { spec: { image: 'example.com/inference:after-apiserver' } }, { kind: 'merge' }),
    );
    await waitImage('m-3', 'example.com/inference:after-apiserver');
    const { ms } = await waitConverged(scenario.cluster.client, scenario.namespace, { ready: true, timeoutMs: 120_000, expectModels: MODELS });
    ledger.figure('API server: all converged after restart (s)', (Date.now() - restartedAt) / 1000);
    fault.recovered();
    void ms;
    expect(op.crashed, op.tail()).toBeUndefined();
  });

  it('readiness dropped while the API server was down, and recovered after', async () => {
    expect(apiserverDown, 'the API server outage ran').toBeDefined();
    await poll('operator /readyz 200 after the outage', 60_000, async () => (await op.readyz()) === 200);
    const during = readiness.filter((s) => s.at >= apiserverDown!.from && s.at <= apiserverDown!.to);
    const notReady = during.filter((s) => s.status !== 200);
    ledger.figure('readyz samples during outage (not ready/total)', `${notReady.length}/${during.length}`);
    expect(during.length).toBeGreaterThan(10);
    expect(notReady.length, 'the operator kept reporting ready while it could not reach the API server').toBeGreaterThan(0);
  });

  it('never crashed, and logged no error storm', () => {
    expect(op.crashed, op.tail()).toBeUndefined();
    const errors = op.errorLines();
    ledger.figure('error log lines', errors.length);
    ledger.figure('warn log lines', op.logs.filter((l) => l.level === 40).length);
    // Two outages of a few seconds each: a handful of errors per informer at most.
    expect(errors.length, errors.slice(0, 5).map((l) => JSON.stringify(l)).join('\n')).toBeLessThanOrEqual(20);
  });
});
