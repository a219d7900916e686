// The operator end to end against the real control plane: what a user sees after kubectl apply.
import { beforeAll, describe, expect, it } from 'vitest';
import { appliedReplicas, fieldManager, handoverFieldManager, handOverReplicas } from '../../src/controllers/aimodel/handover.ts';
import { AIModels } from '../../src/controllers/aimodel/setup.ts';
import { CoreEvents, Deployments, HorizontalPodAutoscalers, PodDisruptionBudgets, Pods, Services } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import type { TestCluster } from '../support/cluster.ts';
import { operatorInNewNamespace, startTestOperator } from '../support/operator.ts';
import type { TestOperator } from '../support/operator.ts';
import { watchAvailableReplicas, watchReplicaSetReplicas } from '../support/replica-history.ts';
import { seedFile } from '../support/install.ts';
import { waitForList, waitForObject } from '../support/wait.ts';
import { plainDeployment } from '../support/workloads.ts';

type Condition = { type: string; status: string; reason: string; message: string };
type Model = KubeObject & {
  spec: Record<string, unknown>;
  status?: { phase?: string; observedGeneration?: number; conditions?: Condition[]; replicas?: number; readyReplicas?: number; updatedReplicas?: number; desiredReplicas?: number; endpoint?: string; selector?: string };
};
type Obj = KubeObject & { spec?: any; status?: any };


const ready = (m: Model | undefined) =>
  !!m && m.status?.observedGeneration === m.metadata.generation && m.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

let cluster: TestCluster;
let operator: TestOperator;
let ns: string;

beforeAll(async () => {
  ({ cluster, operator, ns } = await operatorInNewNamespace());
});

function model(name: string, spec: Record<string, unknown>): Model {
  return { apiVersion: 'ai.openai.com/v1', kind: 'AIModel', metadata: { name, namespace: ns }, spec };
}

async function waitReady(name: string, timeoutMs = 90_000): Promise<Model> {
  return (await waitForObject<Model>(cluster.client, AIModels, ns, name, ready, { timeoutMs, description: `AIModel ${name} Ready` }))!;
}

describe('the seed AIModel', () => {
  it('gets a Deployment, Service, HPA and PDB it controls, becomes Ready, and reports counts and endpoint', async () => {
    const applied = await cluster.kubectl(['apply', '-n', ns, '-f', seedFile]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const m = await waitReady('gpt-4o-agent');
    for (const type of [Deployments, Services, HorizontalPodAutoscalers, PodDisruptionBudgets]) {
      const children = (await cluster.client.list<Obj>(type, { namespace: ns })).items.filter((o) =>
        o.metadata.ownerReferences?.some((r) => r.controller && r.kind === 'AIModel' && r.uid === m.metadata.uid),
      );
      expect(children, type.kind).toHaveLength(1);
    }
    const hpa = (await cluster.client.list<Obj>(HorizontalPodAutoscalers, { namespace: ns })).items[0]!;
    expect(hpa.spec).toMatchObject({ minReplicas: 2, maxReplicas: 20 });
    expect(m.status).toMatchObject({ phase: 'Ready', readyReplicas: 5, replicas: 5, desiredReplicas: 5 });
    expect(m.status?.endpoint).toBe(`http://gpt-4o-agent.${ns}.svc.cluster.local:8000`);

    const wait = await cluster.kubectl(['wait', '-n', ns, '--for=condition=Ready', 'aimodel/gpt-4o-agent', '--timeout=30s']);
    expect(wait.code).toBe(0);
    const table = await cluster.kubectl(['get', 'aim', '-n', ns]);
    expect(table.stdout).toMatch(/NAME\s+MODEL\s+ENGINE\s+DESIRED\s+READY\s+STATUS/);
    // The seed names no engine: the default, the seed's own generic contract.
    expect(table.stdout).toMatch(/gpt-4o-agent\s+gpt-4o-agent\s+openai-compatible\s+5\s+5\s+Ready/);
  });
});

describe('keeping children in shape', () => {
  const name = 'shape';
  let deploymentName = '';

  beforeAll(async () => {
    await cluster.client.create(model(name, { model: 'llama', replicas: 2, autoscaling: { minReplicas: 1, maxReplicas: 4 } }));
    const m = await waitReady(name);
    deploymentName = (await cluster.client.list<Obj>(Deployments, { namespace: ns })).items.find((d) =>
      d.metadata.ownerReferences?.some((r) => r.uid === m.metadata.uid),
    )!.metadata.name;
  });

  it('carries a spec change (image, resources, maxReplicas) to the children', async () => {
    await cluster.client.patch(AIModels, ns, name, { spec: { image: 'example.com/llm:2', resources: { limits: { cpu: '3' } }, autoscaling: { minReplicas: 1, maxReplicas: 9 } } }, { kind: 'merge' });
    const d = await waitForObject<Obj>(cluster.client, Deployments, ns, deploymentName, (o) => o?.spec.template.spec.containers[0].image === 'example.com/llm:2');
    expect(d?.spec.template.spec.containers[0].resources.limits.cpu).toBe('3');
    await waitForList<Obj>(cluster.client, HorizontalPodAutoscalers, (l) => l.some((h) => h.spec.maxReplicas === 9), { namespace: ns });
    await waitReady(name);
  });

  it('reverts a hand edit of a field it owns', async () => {
    const edit = await cluster.kubectl(['-n', ns, 'set', 'image', `deployment/${deploymentName}`, '*=evil.example/miner:1']);
    expect(edit.code).toBe(0);
    const d = await waitForObject<Obj>(cluster.client, Deployments, ns, deploymentName, (o) => o?.spec.template.spec.containers[0].image === 'example.com/llm:2');
    expect(d).toBeDefined();
    // The Warning names who changed it: kubectl set image writes as field manager kubectl-set.
    const events = await waitForList<Obj & { reason?: string; message?: string }>(cluster.client, CoreEvents, (l) => l.some((e) => e.reason === 'ConflictingWriter'), {
      namespace: ns,
      fieldSelector: `involvedObject.name=${name}`,
    });
    expect(events.find((e) => e.reason === 'ConflictingWriter')?.message).toContain('"kubectl-set"');
  });

  it('recreates a deleted Service', async () => {
    const svc = (await cluster.client.list<Obj>(Services, { namespace: ns })).items.find((s) => s.metadata.name === deploymentName)!;
    await cluster.client.delete(Services, ns, svc.metadata.name);
    const back = await waitForObject<Obj>(cluster.client, Services, ns, svc.metadata.name, (o) => !!o && o.metadata.uid !== svc.metadata.uid);
    expect(back?.spec.ports[0].port).toBe(8000);
  });

  it('leaves its children to the garbage collector when the AIModel is deleted', async () => {
    await cluster.client.delete(AIModels, ns, name, { propagationPolicy: 'Foreground' });
    await waitForList<Obj>(cluster.client, Deployments, (l) => !l.some((d) => d.metadata.name === deploymentName), { namespace: ns });
    await waitForList<Obj>(cluster.client, Services, (l) => !l.some((d) => d.metadata.name === deploymentName), { namespace: ns });
  });
});

describe('autoscaling', () => {
  const name = 'scaler';

  it('leaves replicas the HPA set alone, and restores spec.replicas without a dip when autoscaling is removed', async () => {
    await cluster.client.create(model(name, { model: 'm', replicas: 5, autoscaling: { minReplicas: 2, maxReplicas: 10 } }));
    await waitReady(name);
    const deployment = (await cluster.client.list<Obj>(Deployments, { namespace: ns })).items.find((d) => d.metadata.labels?.['app.kubernetes.io/instance'] === name)!;

    // As the HPA would: through the scale subresource, under a manager of its own.
    await cluster.client.patch(Deployments, ns, deployment.metadata.name, { spec: { replicas: 7 } }, { kind: 'merge', subresource: 'scale', fieldManager: 'test-hpa' });
    const m7 = await waitForObject<Model>(cluster.client, AIModels, ns, name, (m) => m?.status?.replicas === 7 && m.status.readyReplicas === 7);
    expect(m7?.status?.replicas).toBe(7);
    expect((await cluster.client.get<Obj>(Deployments, ns, deployment.metadata.name)).spec.replicas).toBe(7);

    // Watch every ReplicaSet while autoscaling goes away.
    const watch = await watchReplicaSetReplicas(cluster.client, ns, name);
    await cluster.client.patch(AIModels, ns, name, [{ op: 'remove', path: '/spec/autoscaling' }], { kind: 'json' });
    await waitForList<Obj>(cluster.client, HorizontalPodAutoscalers, (l) => !l.some((h) => h.metadata.labels?.['app.kubernetes.io/instance'] === name), { namespace: ns });
    await waitForObject<Model>(cluster.client, AIModels, ns, name, (m) => ready(m) && m?.status?.replicas === 5 && m.status.readyReplicas === 5);
    const seen = await watch.stop(5);
    expect((await cluster.client.get<Obj>(Deployments, ns, deployment.metadata.name)).spec.replicas).toBe(5);
    expect(seen).toEqual([7, 5]);
  });

  it('hands the current count to the HPA without a dip when autoscaling is switched on', async () => {
    // 5 replicas from spec.replicas, owned by the operator's apply; bounds that do not force a change.
    const watch = await watchReplicaSetReplicas(cluster.client, ns, name);
    await cluster.client.patch(AIModels, ns, name, { spec: { autoscaling: { minReplicas: 1, maxReplicas: 10 } } }, { kind: 'merge' });
    const hpa = await waitForList<Obj>(cluster.client, HorizontalPodAutoscalers, (l) => l.some((h) => h.metadata.name === name && h.status?.currentReplicas === 5), { namespace: ns, description: 'the HPA has acted on the Deployment' });
    expect(hpa.find((h) => h.metadata.name === name)?.spec).toMatchObject({ minReplicas: 1, maxReplicas: 10 });
    await waitForObject<Model>(cluster.client, AIModels, ns, name, (m) => ready(m) && m?.status?.readyReplicas === 5);
    const seen = await watch.stop(5);
    const d = await cluster.client.get<Obj>(Deployments, ns, name);
    expect(d.spec.replicas).toBe(5);
    expect(Math.min(...seen, d.spec.replicas)).toBeGreaterThanOrEqual(5);
    // The operator's own manager no longer claims replicas: the HPA owns the count from now on.
    expect(appliedReplicas(d, fieldManager)).toBe(false);
    expect(appliedReplicas(d, handoverFieldManager)).toBe(true);
    await cluster.client.patch(AIModels, ns, name, [{ op: 'remove', path: '/spec/autoscaling' }], { kind: 'json' });
    await waitForList<Obj>(cluster.client, HorizontalPodAutoscalers, (l) => !l.some((h) => h.metadata.name === name), { namespace: ns });
  });

  it('does not hand over a count read before the HPA scaled: the apply is conditional on that version', async () => {
    // A Deployment of no model (no operator label), so only this test and its stand-in HPA write it.
    const name = 'handover-race';
    await cluster.client.apply(plainDeployment(ns, name, 2), { fieldManager, force: true });
    const stale = await cluster.client.get<Obj>(Deployments, ns, name);
    await cluster.client.patch(Deployments, ns, name, { spec: { replicas: 3 } }, { kind: 'merge', subresource: 'scale', fieldManager: 'test-hpa' });
    await expect(handOverReplicas(cluster.client, stale, 2)).rejects.toMatchObject({ status: 409 });
    const after = await cluster.client.get<Obj>(Deployments, ns, name);
    expect(after.spec.replicas).toBe(3);
    expect(appliedReplicas(after, handoverFieldManager)).toBe(false);
  });

  it('scales through the scale subresource with kubectl scale when autoscaling is off', async () => {
    const scaled = await cluster.kubectl(['-n', ns, 'scale', `aimodel/${name}`, '--replicas=3']);
    expect(scaled.code).toBe(0);
    const m = await waitForObject<Model>(cluster.client, AIModels, ns, name, (o) => ready(o) && o?.status?.readyReplicas === 3 && o.status.replicas === 3);
    expect(m?.spec.replicas).toBe(3);
    const pods = await waitForList<Obj>(cluster.client, Pods, (l) => l.filter((p) => !p.metadata.deletionTimestamp).length === 3, {
      namespace: ns,
      labelSelector: `app.kubernetes.io/instance=${name}`,
    });
    expect(pods.filter((p) => !p.metadata.deletionTimestamp)).toHaveLength(3);
  });
});

describe('engines', () => {
  it('rolls a model over to another engine without serving fewer replicas than it should', async () => {
    const name = 'switcher';
    await cluster.client.create(model(name, { model: 'm', replicas: 3 }));
    await waitReady(name);
    const watch = await watchAvailableReplicas(cluster.client, ns, name);
    await cluster.client.patch(AIModels, ns, name, { spec: { engine: 'vllm' } }, { kind: 'merge' });
    const m = await waitForObject<Model>(cluster.client, AIModels, ns, name, (o) => ready(o) && o?.status?.updatedReplicas === 3 && o.status.readyReplicas === 3);
    const available = await watch.stop(3);
    expect(m?.metadata.generation).toBe(2);
    expect(Math.min(...available)).toBeGreaterThanOrEqual(3);
    const pods = await waitForList<Obj>(cluster.client, Pods, (l) => l.filter((p) => !p.metadata.deletionTimestamp).length === 3, { namespace: ns, labelSelector: `app.kubernetes.io/instance=${name}` });
    for (const pod of pods.filter((p) => !p.metadata.deletionTimestamp)) {
      expect(pod.metadata.labels?.['ai.openai.com/engine']).toBe('vllm');
      expect(pod.spec.containers[0].args).toEqual(expect.arrayContaining(['--served-model-name', 'm']));
    }
  });
});

describe('root causes', () => {
  it('says a model asking for more GPUs than any node has is not Ready for lack of GPUs', async () => {
    await cluster.client.create(model('too-big', { model: 'huge', replicas: 1, resources: { limits: { 'nvidia.com/gpu': 16 } } }));
    const m = await waitForObject<Model>(cluster.client, AIModels, ns, 'too-big', (o) =>
      o?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False' && c.reason === 'InsufficientGPU') === true,
    );
    const readyCondition = m?.status?.conditions?.find((c) => c.type === 'Ready');
    expect(readyCondition?.message).toContain('nvidia.com/gpu');
    const table = await cluster.kubectl(['get', 'aim', 'too-big', '-n', ns]);
    expect(table.stdout).toContain('InsufficientGPU');
  });
});

describe('idle cost', () => {
  it('sends no write for a converged Degraded model when the operator restarts', async () => {
    // Six pods that cannot be scheduled: the root-cause message names one of them, and a
    // restarted operator lists them in another order than the watch delivered them.
    const degradedNs = await cluster.newNamespace();
    const first = await startTestOperator(cluster, [degradedNs]);
    await cluster.client.create({ apiVersion: 'ai.openai.com/v1', kind: 'AIModel', metadata: { name: 'starved', namespace: degradedNs }, spec: { model: 'huge', replicas: 6, resources: { limits: { 'nvidia.com/gpu': 16 } } } });
    await waitForObject<Model>(cluster.client, AIModels, degradedNs, 'starved', (m) => m?.status?.conditions?.some((c) => c.type === 'Ready' && c.reason === 'InsufficientGPU' && c.message.includes('and 5 more pods')) === true);
    // Stopping drains the reconcile still in flight, if any: what it wrote is the baseline.
    await first.stop();
    const before = (await cluster.client.get<Model>(AIModels, degradedNs, 'starved')).metadata.resourceVersion;

    const restarted = await startTestOperator(cluster, [degradedNs]);
    await expect.poll(() => restarted.reconciles(), { timeout: 60_000 }).toBeGreaterThanOrEqual(1);
    await expect.poll(async () => restarted.aimodel.controller.queue.len(), { timeout: 60_000 }).toBe(0);
    expect(restarted.writes().map((w) => `${w.method} ${w.path}`)).toEqual([]);
    expect((await cluster.client.get<Model>(AIModels, degradedNs, 'starved')).metadata.resourceVersion).toBe(before);
  });

  it('sends no write for 100 unchanged AIModels through 3 forced resyncs', async () => {
    const idleNs = await cluster.newNamespace();
    const idle = await startTestOperator(cluster, [idleNs], ['--workers=8']);
    const names = Array.from({ length: 100 }, (_, i) => `idle-${i}`);
    await Promise.all(names.map((n) => cluster.client.create({ apiVersion: 'ai.openai.com/v1', kind: 'AIModel', metadata: { name: n, namespace: idleNs }, spec: { model: n, replicas: 1 } })));
    await waitForList<Model>(cluster.client, AIModels, (l) => l.length === 100 && l.every(ready), { namespace: idleNs, timeoutMs: 180_000, description: '100 Ready models' });

    // resourceVersions of what only the operator writes; the disruption controller keeps
    // writing PDB status as pods come and go, so PDBs are compared by spec generation.
    const versions = async () => {
      const all: string[] = [];
      for (const type of [AIModels, Deployments, Services]) {
        for (const o of (await cluster.client.list<Obj>(type, { namespace: idleNs })).items) all.push(`${type.kind}/${o.metadata.name}@${o.metadata.resourceVersion}`);
      }
      for (const o of (await cluster.client.list<Obj>(PodDisruptionBudgets, { namespace: idleNs })).items) all.push(`PodDisruptionBudget/${o.metadata.name}#${o.metadata.generation}`);
      return all.sort();
    };
    // Settle: no reconcile in flight, every status written.
    await expect.poll(async () => idle.aimodel.controller.queue.len(), { timeout: 60_000 }).toBe(0);
    const before = await versions();
    const writesBefore = idle.writes().length;
    for (let round = 1; round <= 3; round++) {
      const reconciled = await idle.reconciles();
      idle.aimodel.controller.resync();
      await expect.poll(() => idle.reconciles(), { timeout: 60_000 }).toBeGreaterThanOrEqual(reconciled + 100);
    }
    expect(idle.writes().slice(writesBefore).map((w) => `${w.method} ${w.path.replace(/[^/]*$/, "")}`)).toEqual([]);
    expect(await versions()).toEqual(before);

    // A restarted operator fills its caches from lists, not watch events, and must agree too.
    await idle.stop();
    const restarted = await startTestOperator(cluster, [idleNs], ['--workers=8']);
    await expect.poll(() => restarted.reconciles(), { timeout: 60_000 }).toBeGreaterThanOrEqual(100);
    expect(restarted.writes().map((w) => `${w.method} ${w.path}`)).toEqual([]);
    expect(await versions()).toEqual(before);
  });
});
