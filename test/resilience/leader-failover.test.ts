// Scenario 6: leader failover during churn. Two operator processes elect a leader through a
// Lease; the models keep changing while the leader is killed (SIGKILL: the lease must expire;
// SIGTERM: it is released at once) and a fresh standby joins each time. No update may be lost:
// at the end every child carries the last spec written.
import { describe, expect, it } from 'vitest';
import { Leases } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { poll } from '../../hack/localcluster/cluster.ts';
import type { OperatorProcess } from '../support/operator-process.ts';
import { operatorNamespace } from '../support/resilience/cluster.ts';
import { createModels, mutateModel, variedModel, waitConverged } from '../support/resilience/convergence.ts';
import { useLedger } from '../support/resilience/ledger.ts';
import { seededRng } from '../support/resilience/rng.ts';
import { faultDelay, useResilienceScenario } from '../support/resilience/scenario.ts';

const MODELS = 50;
const FAILOVERS: ('SIGKILL' | 'SIGTERM')[] = ['SIGKILL', 'SIGTERM', 'SIGKILL'];
// Shorter than the defaults (15s/10s/2s) so a failover takes seconds, with the defaults' ratios
// kept: tighter settings lose the lease to CPU starvation on a loaded 2-core machine.
const LEASE = ['--leader-elect-lease-duration=6s', '--leader-elect-renew-deadline=4s', '--leader-elect-retry-period=1s'];
const ledger = useLedger('6 leader failover during churn');
const rng = seededRng();
ledger.figure('seed', rng.seed);
const scenario = useResilienceScenario({ namespaces: ['failover'] });

const start = (): Promise<OperatorProcess> => scenario.startOperator({ leaderElect: true, flags: LEASE });

async function isLeader(p: OperatorProcess): Promise<boolean> {
  return p.running && (await p.metric('leader_election_master_status')) === 1;
}

async function leader(live: OperatorProcess[], timeoutMs = 60_000): Promise<OperatorProcess> {
  let found: OperatorProcess | undefined;
  await poll('a leader', timeoutMs, async () => {
    for (const p of live) if (await isLeader(p)) found = p;
    return found !== undefined;
  }, { intervalMs: 100 });
  return found!;
}

describe(`${MODELS} models churning while the leader dies ${FAILOVERS.length} times`, () => {
  it('loses no update', async () => {
    const names = Array.from({ length: MODELS }, (_, i) => `m-${i}`);
    await createModels(scenario.cluster.client, names.map((name, i) => variedModel(scenario.namespace, name, i)));
    let live = [await start(), await start()];
    await Promise.all(live.map((p) => p.waitReady()));
    let current = await leader(live);

    // Churn: a spec change every 100 ms, all the way through the failovers.
    let churning = true;
    let changes = 0;
    const churn = (async () => {
      while (churning) {
        await mutateModel(scenario.cluster.client, scenario.namespace, rng.pick(names), rng);
        changes++;
        await faultDelay(100);
      }
    })();
    try {
      for (const signal of FAILOVERS) {
        await faultDelay(rng.int(2_000, 6_000));
        const before = (await scenario.cluster.client.get<KubeObject & { spec: { holderIdentity?: string } }>(Leases, operatorNamespace, 'aimodel-operator-leader')).spec.holderIdentity;
        const fault = ledger.fault(`leader ${signal}`);
        await current.kill(signal);
        live = live.filter((p) => p !== current);
        live.push(await start());
        current = await leader(live);
        const after = (await scenario.cluster.client.get<KubeObject & { spec: { holderIdentity?: string } }>(Leases, operatorNamespace, 'aimodel-operator-leader')).spec.holderIdentity;
        expect(after).not.toBe(before);
        ledger.figure(`failover after ${signal} (s)`, fault.recovered() / 1000);
      }
      await faultDelay(3_000);
    } finally {
      churning = false;
      await churn;
    }
    ledger.figure('spec changes during churn', changes);
    const { ms } = await waitConverged(scenario.cluster.client, scenario.namespace, { ready: true, timeoutMs: 180_000, expectModels: MODELS });
    ledger.figure('converged after churn stopped (s)', ms / 1000);
  });

  it('no process crashed, and exactly one leads', async () => {
    // A process that exits on its own here lost its lease while alive: show how.
    const crashed = scenario.operators.filter((p) => p.crashed);
    const leaseLog = (p: OperatorProcess) =>
      p.logs.filter((l) => /lease|leader|renew/i.test(JSON.stringify(l)) && l.msg !== 'Reconciler error').slice(-12).map((l) => JSON.stringify(l).slice(0, 300)).join('\n');
    expect(crashed.map((p) => `exit ${JSON.stringify(p.crashed)}\n${leaseLog(p)}`)).toEqual([]);
    const leaders = [];
    for (const p of scenario.operators) if (await isLeader(p)) leaders.push(p.pid);
    expect(leaders).toHaveLength(1);
  });
});
