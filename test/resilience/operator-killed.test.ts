// Scenario 1: the operator is SIGKILLed at 20 random points (start-up, cache sync, mid-reconcile)
// while 200 models converge and change. After the last restart everything converges, with no
// duplicate or orphaned child and no child left with a stale spec.
import { describe, expect, it } from 'vitest';
import { AIModels } from '../../src/controllers/aimodel/setup.ts';
import type { OperatorProcess } from '../support/operator-process.ts';
import { countBy, isWrite } from '../support/resilience/audit.ts';
import { operatorUser } from '../support/resilience/cluster.ts';
import { createModels, inspect, mutateModel, variedModel, waitConverged } from '../support/resilience/convergence.ts';
import { useLedger } from '../support/resilience/ledger.ts';
import type { Fault } from '../support/resilience/ledger.ts';
import { seededRng } from '../support/resilience/rng.ts';
import { faultDelay, useResilienceScenario } from '../support/resilience/scenario.ts';

const MODELS = 200;
const KILLS = 20;
const ledger = useLedger('1 operator SIGKILLed during convergence');
const rng = seededRng();
ledger.figure('seed', rng.seed);
const scenario = useResilienceScenario({ namespaces: ['killed'] });

/** Records when a process first answers /readyz 200 (observation only: nothing waits on it). */
function watchReady(p: OperatorProcess, onReady: () => void): { readyAt?: number } {
  const state: { readyAt?: number } = {};
  void (async () => {
    while (p.running && state.readyAt === undefined) {
      if ((await p.readyz()) === 200) {
        state.readyAt = Date.now();
        onReady();
      } else await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return state;
}

describe(`${MODELS} models, ${KILLS} SIGKILLs`, () => {
  const names = Array.from({ length: MODELS }, (_, i) => `m-${i}`);
  let extra = 0;

  it('converges after the last restart with no duplicate, orphaned or stale child', async () => {
    await createModels(scenario.cluster.client, names.map((name, i) => variedModel(scenario.namespace, name, i)));
    const since = new Date();
    // A kill counts as recovered when a later process is ready (caches synced, workers running).
    let pending: Fault[] = [];
    const recover = () => {
      for (const f of pending) f.recovered();
      pending = [];
    };
    let op = await scenario.startOperator();
    let ready = watchReady(op, recover);
    const restarts: number[] = [];
    const changes: string[] = [];
    for (let k = 1; k <= KILLS; k++) {
      // A random point: before the caches synced, while the first pass applies children, or
      // while the status writes trail behind the pods.
      const delay = rng.int(300, 5_000);
      await faultDelay(delay);
      expect(op.crashed, `operator crashed before kill ${k}:\n${op.tail()}`).toBeUndefined();
      pending.push(ledger.fault('SIGKILL', `${delay} ms after start`));
      await op.kill('SIGKILL');
      if (ready.readyAt !== undefined) restarts.push(ready.readyAt - op.startedAt);
      // The world moves on while the operator is dead: spec changes, a deleted and a new model.
      for (const name of rng.sample(names, 3)) changes.push(await mutateModel(scenario.cluster.client, scenario.namespace, name, rng));
      if (k % 5 === 0) {
        const victim = names.splice(rng.int(0, names.length - 1), 1)[0]!;
        await scenario.cluster.client.delete(AIModels, scenario.namespace, victim);
        const added = `n-${extra++}`;
        names.push(added);
        await scenario.cluster.client.create(variedModel(scenario.namespace, added, rng.int(0, 9)));
        changes.push(`deleted ${victim}, created ${added}`);
      }
      // A kill must never leave two children where one belongs.
      const snapshot = await inspect(scenario.cluster.client, scenario.namespace);
      expect(snapshot.duplicates, `after kill ${k}`).toEqual([]);
      op = await scenario.startOperator();
      ready = watchReady(op, recover);
    }
    const { ms, inspection } = await waitConverged(scenario.cluster.client, scenario.namespace, { ready: true, timeoutMs: 300_000, expectModels: MODELS });
    expect(op.crashed, op.tail()).toBeUndefined();
    ledger.figure('converged after final restart (s)', ms / 1000);
    ledger.figure('children', inspection.children);
    ledger.figure('spec changes during kills', changes.length);
    ledger.figure('restart to /readyz median (ms)', restarts.sort((a, b) => a - b)[Math.floor(restarts.length / 2)] ?? -1);
    const writes = (await scenario.cluster.audit.byOperator(operatorUser, since)).filter(isWrite);
    ledger.figure('operator writes', writes.length);
    const byResource = countBy(writes, (e) => (e.objectRef?.resource === 'events' ? 'events' : e.objectRef?.subresource === 'status' ? 'status' : 'children'));
    ledger.figure('writes: children/status/events', `${byResource.children ?? 0}/${byResource.status ?? 0}/${byResource.events ?? 0}`);
    ledger.figure('error log lines (all processes)', scenario.operators.reduce((n, p) => n + p.errorLines().length, 0));
    expect(pending, 'kills not followed by a ready operator').toEqual([]);
  });

  it('no operator process ever exited on its own', () => {
    const crashes = scenario.operators.filter((p) => p.crashed).map((p) => `${p.pid}: ${JSON.stringify(p.crashed)}\n${p.tail()}`);
    expect(crashes).toEqual([]);
    expect(scenario.operators.length).toBe(KILLS + 1);
  });
});
