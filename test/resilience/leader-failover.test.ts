// Scenario 6: leader failover during churn. Two operator processes elect a leader through a
// Lease; the models keep changing while the leader is killed (SIGKILL: the lease must expire;
// SIGTERM: it is released at once) and a fresh standby joins each time. No update may be lost:
// at the end every child carries the last spec written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Leases } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { operatorNamespace, ResilienceCluster } from '../support/resilience/cluster.ts';
import { createModels, mutateModel, variedModel, waitConverged } from '../support/resilience/convergence.ts';
import { useLedger } from '../support/resilience/ledger.ts';
import { faultDelay, OperatorProcess, pollUntil } from '../support/resilience/operator-process.ts';
import { metricSum } from '../support/resilience/prom.ts';
import { seededRng } from '../support/resilience/rng.ts';

const MODELS = 50;
const FAILOVERS: ('SIGKILL' | 'SIGTERM')[] = ['SIGKILL', 'SIGTERM', 'SIGKILL'];
// Shorter than the defaults (15s/10s/2s) so a failover takes seconds, with the defaults' ratios
// kept: tighter settings lose the lease to CPU starvation on a loaded 2-core machine.
const LEASE = ['--leader-elect-lease-duration=6s', '--leader-elect-renew-deadline=4s', '--leader-elect-retry-period=1s'];
const ledger = useLedger('6 leader failover during churn');
const rng = seededRng();

let cluster: ResilienceCluster;
let namespace: string;
let kubeconfig: string;
const processes: OperatorProcess[] = [];

beforeAll(async () => {
  cluster = await ResilienceCluster.start();
  namespace = await cluster.newNamespace('failover');
  kubeconfig = await cluster.operatorKubeconfig();
  ledger.figure('seed', rng.seed);
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill('SIGTERM')));
  await cluster?.stop();
});

async function start(): Promise<OperatorProcess> {
  const p = await OperatorProcess.start({ kubeconfig, namespaces: [namespace], leaderElect: true, flags: LEASE, logFile: join(cluster.dir, 'operator.log') });
  processes.push(p);
  return p;
}

async function isLeader(p: OperatorProcess): Promise<boolean> {
  if (!p.running) return false;
  try {
    return (metricSum(await p.metrics(), 'leader_election_master_status') ?? 0) === 1;
  } catch {
    return false;
  }
}

async function leader(live: OperatorProcess[], timeoutMs = 60_000): Promise<OperatorProcess> {
  let found: OperatorProcess | undefined;
  await pollUntil('a leader', timeoutMs, async () => {
    for (const p of live) if (await isLeader(p)) found = p;
    return found !== undefined;
  }, 100);
  return found!;
}

describe(`${MODELS} models churning while the leader dies ${FAILOVERS.length} times`, () => {
  it('loses no update', async () => {
    const names = Array.from({ length: MODELS }, (_, i) => `m-${i}`);
    await createModels(cluster.client, names.map((name, i) => variedModel(namespace, name, i)));
    let live = [await start(), await start()];
    await Promise.all(live.map((p) => p.waitReady()));
    let current = await leader(live);

    // Churn: a spec change every 100 ms, all the way through the failovers.
    let churning = true;
    let changes = 0;
    const churn = (async () => {
      while (churning) {
        await mutateModel(cluster.client, namespace, rng.pick(names), rng);
        changes++;
        await faultDelay(100);
      }
    })();
    try {
      for (const signal of FAILOVERS) {
        await faultDelay(rng.int(2_000, 6_000));
        const before = (await cluster.client.get<KubeObject & { spec: { holderIdentity?: string } }>(Leases, operatorNamespace, 'aimodel-operator-leader')).spec.holderIdentity;
        const fault = ledger.fault(`leader ${signal}`);
        await current.kill(signal);
        live = live.filter((p) => p !== current);
        live.push(await start());
        current = await leader(live);
        const after = (await cluster.client.get<KubeObject & { spec: { holderIdentity?: string } }>(Leases, operatorNamespace, 'aimodel-operator-leader')).spec.holderIdentity;
        expect(after).not.toBe(before);
        ledger.figure(`failover after ${signal} (s)`, fault.recovered() / 1000);
      }
      await faultDelay(3_000);
    } finally {
      churning = false;
      await churn;
    }
    ledger.figure('spec changes during churn', changes);
    const { ms } = await waitConverged(cluster.client, namespace, { ready: true, timeoutMs: 180_000, expectModels: MODELS });
    ledger.figure('converged after churn stopped (s)', ms / 1000);
  });

  it('no process crashed, and exactly one leads', async () => {
    // A process that exits on its own here lost its lease while alive: show how.
    const crashed = processes.filter((p) => p.crashed);
    const leaseLog = (p: OperatorProcess) =>
      p.lines.filter((l) => /lease|leader|renew/i.test(JSON.stringify(l)) && l.msg !== 'Reconciler error').slice(-12).map((l) => JSON.stringify(l).slice(0, 300)).join('\n');
    expect(crashed.map((p) => `exit ${JSON.stringify(p.crashed)}\n${leaseLog(p)}`)).toEqual([]);
    const leaders = [];
    for (const p of processes) if (await isLeader(p)) leaders.push(p.pid);
    expect(leaders).toHaveLength(1);
  });
});
