// Autoscaling in the shared cluster, which serves metrics.k8s.io (metrics-server on kwok's
// simulated usage) and no KEDA: the seed as written autoscales on CPU for real, and a model with
// an engine-signal target says KEDA is missing and serves at spec.replicas. Counts are watched.
import { beforeAll, describe, expect, it } from 'vitest';
import { poll } from '../../hack/localcluster/cluster.ts';
import { AIModels } from '../../src/controllers/aimodel/setup.ts';
import { Deployments, HorizontalPodAutoscalers } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import type { TestCluster } from '../support/cluster.ts';
import { operatorInNewNamespace } from '../support/operator.ts';
import { expectUpToAndBack, hasCondition, watchDeploymentReplicas } from '../support/replica-history.ts';
import { SimulatedLoad } from '../support/simulated-load.ts';
import { seedFile } from '../support/install.ts';
import { waitForList, waitForObject } from '../support/wait.ts';

type Condition = { type: string; status: string; reason: string; message: string };
type Model = KubeObject & {
  spec: Record<string, unknown>;
  status?: {
    observedGeneration?: number;
    conditions?: Condition[];
    replicas?: number;
    readyReplicas?: number;
    desiredReplicas?: number;
    autoscaling?: { autoscaler?: string; signal?: string; target?: number; current?: number };
  };
};
type Obj = KubeObject & { spec?: any; status?: any };


const condition = (m: Model | undefined, type: string) => m?.status?.conditions?.find((c) => c.type === type);
const current = (m: Model | undefined) => !!m && m.status?.observedGeneration === m.metadata.generation;
const ready = (m: Model | undefined) => current(m) && condition(m, 'Ready')?.status === 'True';

let cluster: TestCluster;
let ns: string;

beforeAll(async () => {
  ({ cluster, ns } = await operatorInNewNamespace());
});

describe('the seed AIModel as written', () => {
  it('gets an HPA that reports ScalingActive=True, and is Ready in kubectl get aim, with CPU use against its target on status', async () => {
    const applied = await cluster.kubectl(['apply', '-n', ns, '-f', seedFile]);
    expect(applied.code).toBe(0);
    const hpa = await waitForObject<Obj>(cluster.client, HorizontalPodAutoscalers, ns, 'gpt-4o-agent', (h) => hasCondition(h, 'ScalingActive'), {
      timeoutMs: 120_000,
      description: 'the seed HPA ScalingActive=True (it reads the pods\' CPU through metrics.k8s.io)',
    });
    expect(hpa?.status?.currentMetrics?.[0]?.resource?.name).toBe('cpu');
    // The seed requests no CPU: 80% of the operator's default 1 CPU per pod, a target that needs no request.
    expect(hpa?.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'AverageValue', averageValue: '800m' } } }]);
    const deployment = await cluster.client.get<Obj>(Deployments, ns, 'gpt-4o-agent');
    expect(deployment.spec.template.spec.containers[0].resources?.requests?.cpu).toBeUndefined();

    const m = await waitForObject<Model>(cluster.client, AIModels, ns, 'gpt-4o-agent', (o) => ready(o) && condition(o, 'AutoscalingActive')?.status === 'True' && o?.status?.autoscaling?.current !== undefined, {
      timeoutMs: 60_000,
      description: 'the seed Ready, AutoscalingActive and reporting its CPU use',
    });
    expect(condition(m, 'AutoscalingActive')).toMatchObject({ status: 'True' });
    expect(m?.status?.autoscaling).toMatchObject({ autoscaler: 'HorizontalPodAutoscaler gpt-4o-agent', signal: 'cpuUtilizationPercent', target: 80 });
    const table = await cluster.kubectl(['get', 'aim', '-n', ns]);
    expect(table.stdout).toMatch(/gpt-4o-agent\s+gpt-4o-agent\s+openai-compatible\s+\d+\s+\d+\s+Ready/);
    // CPU is a rate: metrics-server lists a pod only after two scrapes of it, 10 s apart, and a
    // pod the HPA has just added or replaced may not have had them yet.
    let lastTop = '';
    await poll('kubectl top pods to list the seed\'s pods', 60_000, async () => {
      const top = await cluster.kubectl(['top', 'pods', '-n', ns, '--no-headers']);
      lastTop = `exit ${top.code}: ${top.stdout}${top.stderr}`;
      return top.code === 0 && /^gpt-4o-agent-\S+\s+\d+m/m.test(top.stdout);
    }, { intervalMs: 1_000 }).catch((err: unknown) => {
      throw new Error(`${String(err)}; last kubectl top: ${lastTop}`);
    });
  }, 240_000);

  it('scales up under CPU load and stops at maxReplicas 20, then back to minReplicas 2 when the load is gone, never past either bound', async () => {
    const replicas = await watchDeploymentReplicas(cluster.client, ns, 'gpt-4o-agent');
    // 3 CPUs used per pod against 800m per pod: always more than 20 replicas' worth.
    const load = SimulatedLoad.start(cluster.client, ns, 'app.kubernetes.io/instance=gpt-4o-agent', { cpu: '3' });
    try {
      await waitForObject<Obj>(cluster.client, HorizontalPodAutoscalers, ns, 'gpt-4o-agent', (h) => hasCondition(h, 'ScalingLimited', 'TooManyReplicas') && h?.status?.currentReplicas === 20, {
        timeoutMs: 300_000,
        description: 'the HPA at 20 replicas, held there by maxReplicas',
      });
      await waitForObject<Model>(cluster.client, AIModels, ns, 'gpt-4o-agent', (o) => ready(o) && o?.status?.readyReplicas === 20 && (o.status.autoscaling?.current ?? 0) > 80, {
        timeoutMs: 120_000,
        description: 'the seed Ready at 20 replicas, its CPU use above target on status',
      });
      load.set({ cpu: '1m' });
      await waitForObject<Obj>(cluster.client, Deployments, ns, 'gpt-4o-agent', (d) => d?.spec?.replicas === 2, { timeoutMs: 300_000, description: 'the seed back at 2 replicas without load' });
    } finally {
      await load.stop();
    }
    const seen = await replicas.stop(2);
    expectUpToAndBack(seen, { min: 2, max: 20 });
  }, 720_000);
});

describe('an engine-signal target in a cluster without KEDA', () => {
  it('serves at spec.replicas, with no autoscaler, and says AutoscalingActive=False naming KEDA', async () => {
    await cluster.client.create({
      apiVersion: 'ai.openai.com/v1',
      kind: 'AIModel',
      metadata: { name: 'queued', namespace: ns },
      spec: { model: 'queued', engine: 'vllm', replicas: 3, autoscaling: { minReplicas: 1, maxReplicas: 8, target: { queueLength: 5 } } },
    });
    const m = await waitForObject<Model>(cluster.client, AIModels, ns, 'queued', (o) => ready(o) && o?.status?.readyReplicas === 3, { timeoutMs: 90_000, description: 'the model Ready at 3 replicas' });
    expect(condition(m, 'AutoscalingActive')).toMatchObject({ status: 'False', reason: 'KEDANotInstalled' });
    expect(condition(m, 'AutoscalingActive')?.message).toMatch(/keda\.sh\/v1alpha1 ScaledObject is not served by this cluster: install KEDA/);
    expect(m?.status).toMatchObject({ desiredReplicas: 3, autoscaling: { signal: 'queueLength', target: 5 } });
    expect((await cluster.client.get<Obj>(Deployments, ns, 'queued')).spec.replicas).toBe(3);
    await waitForList<Obj>(cluster.client, HorizontalPodAutoscalers, (l) => !l.some((h) => h.spec?.scaleTargetRef?.name === 'queued'), { namespace: ns, description: 'no HPA on the model' });
    const table = await cluster.kubectl(['get', 'aim', 'queued', '-n', ns]);
    expect(table.stdout).toMatch(/queued\s+queued\s+vllm\s+3\s+3\s+Ready/);
  });

  it('keeps the count when switched from CPU to an engine signal it cannot serve, and back', async () => {
    await cluster.client.create({
      apiVersion: 'ai.openai.com/v1',
      kind: 'AIModel',
      metadata: { name: 'switch', namespace: ns },
      spec: { model: 'switch', engine: 'vllm', replicas: 4, autoscaling: { minReplicas: 4, maxReplicas: 8 } },
    });
    await waitForObject<Model>(cluster.client, AIModels, ns, 'switch', (o) => ready(o) && o?.status?.readyReplicas === 4, { timeoutMs: 90_000 });
    const replicas = await watchDeploymentReplicas(cluster.client, ns, 'switch');
    await cluster.client.patch(AIModels, ns, 'switch', { spec: { autoscaling: { target: { queueLength: 5 } } } }, { kind: 'merge' });
    await waitForObject<Model>(cluster.client, AIModels, ns, 'switch', (o) => current(o) && condition(o, 'AutoscalingActive')?.reason === 'KEDANotInstalled', { timeoutMs: 60_000 });
    await waitForList<Obj>(cluster.client, HorizontalPodAutoscalers, (l) => !l.some((h) => h.metadata.name === 'switch'), { namespace: ns, description: 'the CPU HPA gone' });
    await cluster.client.patch(AIModels, ns, 'switch', { spec: { autoscaling: { target: null } } }, { kind: 'merge' });
    await waitForObject<Obj>(cluster.client, HorizontalPodAutoscalers, ns, 'switch', (h) => h !== undefined, { timeoutMs: 60_000, description: 'the CPU HPA back' });
    await waitForObject<Model>(cluster.client, AIModels, ns, 'switch', (o) => ready(o) && o?.status?.readyReplicas === 4, { timeoutMs: 60_000 });
    const seen = await replicas.stop();
    expect(Math.min(...seen)).toBe(4);
  });
});
