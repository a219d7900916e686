// Scenario 3: watch expiry. The operator reaches the API server through a proxy; the proxy cuts
// it off, the cluster changes behind its back, and etcd is compacted past every resourceVersion
// it knows. With the watch cache off (watches served by etcd), its re-watch gets 410 Gone; it
// must relist, and its cache must come out correct: deletions, edits and additions it never saw
// as events are all acted on, and nothing it did not need to touch is rewritten.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AIModels } from '../../src/controllers/aimodel/setup.ts';
import { Deployments, Services } from '../../src/kube/resources.ts';
import { poll } from '../../hack/localcluster/cluster.ts';
import type { OperatorProcess } from '../support/operator-process.ts';
import { countBy, isWrite } from '../support/resilience/audit.ts';
import { operatorUser } from '../support/resilience/cluster.ts';
import { createModels, variedModel, waitConverged } from '../support/resilience/convergence.ts';
import type { Obj } from '../support/resilience/convergence.ts';
import { useLedger } from '../support/resilience/ledger.ts';
import { PartitionProxy } from '../support/resilience/proxy.ts';
import { faultDelay, useResilienceScenario } from '../support/resilience/scenario.ts';

const MODELS = 20;
const ledger = useLedger('3 watch expiry (etcd compaction, 410 Gone)');
// Without the watch cache every watch is an etcd watch, so compaction is what expires it. The
// operator's kubeconfig is made below: it reaches the API server through the proxy.
const scenario = useResilienceScenario({ apiServerArgs: ['--watch-cache=false'], namespaces: ['expiry'], operatorAccess: 'none' });

let proxy: PartitionProxy;
let op: OperatorProcess;

beforeAll(async () => {
  const server = new URL(scenario.cluster.local.server);
  proxy = await PartitionProxy.start({ host: server.hostname, port: Number(server.port) });
  const kubeconfig = await scenario.cluster.operatorKubeconfig({ server: proxy.url });
  await createModels(scenario.cluster.client, Array.from({ length: MODELS }, (_, i) => variedModel(scenario.namespace, `m-${i}`, i)));
  op = await scenario.startOperator({ kubeconfig });
  await op.waitReady();
  await waitConverged(scenario.cluster.client, scenario.namespace, { ready: true, timeoutMs: 120_000 });
});

// The operator stops before the proxy closes under it; the scenario then stops the cluster.
afterAll(async () => {
  await op?.kill('SIGTERM');
  await proxy?.close();
});

const expired = () => op.logs.filter((l) => /410 Gone/.test(String(l.msg))).length;

describe('a partition, changes behind the operator\'s back, and compaction', () => {
  let healedAt = new Date();

  it('relists after 410 Gone and acts on every change it missed', async () => {
    const expiredBefore = expired();
    const fault = ledger.fault('network partition + etcd compaction');
    proxy.partition();
    // Behind the operator's back:
    await scenario.cluster.client.patch(AIModels, scenario.namespace, 'm-1', { spec: { image: 'example.com/inference:missed' } }, { kind: 'merge' }); // a spec change
    await scenario.cluster.client.patch(AIModels, scenario.namespace, 'm-0', { spec: { autoscaling: null, replicas: 1 } }, { kind: 'merge' }); // its HPA must go
    await scenario.cluster.client.delete(AIModels, scenario.namespace, 'm-2'); // a deleted model
    await scenario.cluster.client.create(variedModel(scenario.namespace, 'm-new', 6)); // a new model
    await scenario.cluster.client.delete(Services, scenario.namespace, 'm-3'); // a child deleted under it
    await scenario.cluster.client.patch(Deployments, scenario.namespace, 'm-4', { spec: { template: { spec: { containers: [{ name: 'inference', image: 'evil.example/miner:1' }] } } } }, { kind: 'strategic' }); // a child edited
    await faultDelay(3_000);
    const revision = await scenario.cluster.compactEtcd();
    ledger.figure('compacted at etcd revision', revision);
    healedAt = new Date();
    proxy.heal();

    await poll('the operator to log a 410 Gone', 90_000, async () => expired() > expiredBefore);
    ledger.figure('first 410 after heal (s)', (Date.now() - healedAt.getTime()) / 1000);
    await poll('Deployment m-1 to carry the change made during the partition', 90_000, async () => {
      const d = await scenario.cluster.client.find<Obj>(Deployments, scenario.namespace, 'm-1');
      return d?.spec?.template?.spec?.containers?.[0]?.image === 'example.com/inference:missed';
    });
    ledger.figure('missed spec change applied after heal (s)', (Date.now() - healedAt.getTime()) / 1000);
    await waitConverged(scenario.cluster.client, scenario.namespace, { ready: true, allowOrphans: true, timeoutMs: 120_000, expectModels: MODELS });
    ledger.figure('operator caught up after heal (s)', (Date.now() - healedAt.getTime()) / 1000);
    fault.recovered();
    // The deleted model's children are the garbage collector's (slow without a watch cache).
    const { inspection } = await waitConverged(scenario.cluster.client, scenario.namespace, { ready: true, timeoutMs: 180_000, expectModels: MODELS });
    ledger.figure('garbage collector done after heal (s)', (Date.now() - healedAt.getTime()) / 1000);
    ledger.figure('410 Gone relists logged', expired() - expiredBefore);
    ledger.figure('children', inspection.children);
    expect(op.crashed, op.tail()).toBeUndefined();
  });

  it('relisted every cache through the API server, and rewrote nothing it did not have to', async () => {
    const after = await scenario.cluster.audit.byOperator(operatorUser, healedAt);
    // A relist is a list, or (the operator's way where the API server supports it) a watch that
    // streams the current state first (WatchList: sendInitialEvents=true).
    const lists = after.filter((e) => e.verb === 'list' || (e.verb === 'watch' && /[?&]sendInitialEvents=true(&|$)/.test(e.requestURI)));
    ledger.figure('relists after heal', JSON.stringify(countBy(lists, (e) => e.objectRef?.resource ?? '?')));
    for (const resource of ['aimodels', 'deployments', 'services', 'horizontalpodautoscalers', 'poddisruptionbudgets', 'pods']) {
      expect(lists.some((e) => e.objectRef?.resource === resource), `a relist of ${resource}`).toBe(true);
    }
    const touched = new Set(['m-0', 'm-1', 'm-2', 'm-3', 'm-4', 'm-new']);
    const childWrites = after.filter((e) => isWrite(e) && e.objectRef?.resource !== 'events' && e.objectRef?.subresource !== 'status');
    ledger.figure('child writes after heal', childWrites.length);
    const needless = childWrites.filter((e) => !touched.has(e.objectRef?.name ?? ''));
    expect(needless.map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name}`)).toEqual([]);
  });
});
