// Engine-signal autoscaling end to end, on a cluster of this file's own with KEDA and Prometheus
// (the shared cluster runs neither): the operator writes a ScaledObject whose Prometheus query
// reads kwok's simulated vLLM gauges, KEDA's HPA scales the model, and switching between CPU,
// engine signal and no autoscaling never lets the Deployment dip. Counts are watched, not timed.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../hack/localcluster/cluster.ts';
import { installAIModelCRD } from '../../hack/localcluster/crd.ts';
import { GATEWAY_QUEUE_GAUGE, GATEWAY_TARGET_MODEL_ANNOTATION } from '../../hack/localcluster/metrics.ts';
import { AIModels } from '../../src/api/v1/resource.ts';
import { parseConfig } from '../../src/config/config.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { Deployments, HorizontalPodAutoscalers, Pods, ScaledObjects } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { startOperator } from '../../src/operator.ts';
import type { RunningOperator } from '../../src/operator.ts';
import { hasCondition, watchDeploymentReplicas } from '../support/replica-history.ts';
import { loadAnnotations, SimulatedLoad } from '../support/simulated-load.ts';
import { waitForList, waitForObject } from '../support/wait.ts';

const WAITING = 'vllm:num_requests_waiting';

type Condition = { type: string; status: string; reason: string; message: string };
type Model = KubeObject & {
  status?: {
    observedGeneration?: number;
    conditions?: Condition[];
    readyReplicas?: number;
    desiredReplicas?: number;
    autoscaling?: { autoscaler?: string; signal?: string; target?: number; current?: number };
  };
};
type Obj = KubeObject & { spec?: any; status?: any };

let cluster: LocalCluster;
let client: KubeClient;
let operator: RunningOperator | undefined;
const ns = 'engines';

const condition = (m: Model | undefined, type: string) => m?.status?.conditions?.find((c) => c.type === type);
const current = (m: Model | undefined) => !!m && m.status?.observedGeneration === m.metadata.generation;
const ready = (m: Model | undefined) => current(m) && condition(m, 'Ready')?.status === 'True';

beforeAll(async () => {
  cluster = await LocalCluster.start({ stateDir: await mkdtemp(join(tmpdir(), 'aimodel-autoscaling-keda-')), keda: true, log: () => {} });
  client = await cluster.client();
  await installAIModelCRD(cluster.binDir, cluster.kubeconfigPath);
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cluster.kubeconfigPath);
  const config = parseConfig(
    [
      `--namespaces=${ns}`,
      '--leader-elect=false',
      '--metrics-bind-address=127.0.0.1:0',
      '--health-probe-bind-address=127.0.0.1:0',
      `--prometheus-address=${cluster.prometheusUrl}`,
      '--scaled-objects=true',
      // Short, so a test sees KEDA go to zero and back; the HPA side runs on the cluster's short sync period.
      '--keda-polling-interval=1s',
      '--keda-cooldown-period=5s',
    ],
    {},
  );
  operator = await startOperator(config, kubeConfig, pino({ level: process.env.TEST_LOG_LEVEL ?? 'warn' }));
}, 1_200_000); // the first use builds KEDA from source

afterAll(async () => {
  await operator?.stop().catch(() => {});
  await cluster?.stop();
});

async function createModel(name: string, spec: Record<string, unknown>): Promise<void> {
  await client.create({ apiVersion: 'ai.openai.com/v1', kind: 'AIModel', metadata: { name, namespace: ns }, spec: { model: name, engine: 'vllm', ...spec } });
}

/** The names of the HPAs of a Deployment, each time the set changes, as a watch sees them. */
async function watchHpaSets(deployment: string): Promise<{ stop(): Promise<string[][]> }> {
  const live = new Map<string, string>();
  const seen: string[][] = [];
  const abort = new AbortController();
  const note = () => {
    const names = [...live.keys()].sort();
    if (JSON.stringify(seen.at(-1)) !== JSON.stringify(names)) seen.push(names);
  };
  const list = await client.list<Obj>(HorizontalPodAutoscalers, { namespace: ns });
  for (const h of list.items) if (h.spec?.scaleTargetRef?.name === deployment) live.set(h.metadata.name, h.metadata.uid ?? '');
  note();
  const watching = client
    .watch<Obj>(HorizontalPodAutoscalers, { namespace: ns, resourceVersion: list.metadata!.resourceVersion!, signal: abort.signal }, (e) => {
      if (e.type !== 'ADDED' && e.type !== 'MODIFIED' && e.type !== 'DELETED') return;
      const hpa = e.object as Obj;
      if (hpa.spec?.scaleTargetRef?.name !== deployment) return;
      if (e.type === 'DELETED') live.delete(hpa.metadata.name);
      else live.set(hpa.metadata.name, hpa.metadata.uid ?? '');
      note();
    })
    .catch(() => {});
  return {
    async stop() {
      abort.abort();
      await watching;
      return seen;
    },
  };
}

describe('a model targeting queue length', () => {
  const name = 'queue';

  it('gets a ScaledObject and no HPA of the operator, and reports KEDA\'s HPA active', async () => {
    await createModel(name, { replicas: 1, autoscaling: { minReplicas: 1, maxReplicas: 4, target: { queueLength: 5 } } });
    const so = await waitForObject<Obj>(client, ScaledObjects, ns, name, (o) => o !== undefined, { timeoutMs: 60_000, description: 'the ScaledObject' });
    expect(so?.spec).toMatchObject({ minReplicaCount: 1, maxReplicaCount: 4, scaleTargetRef: { name } });
    expect(so?.spec.triggers[0].metadata).toEqual({
      serverAddress: cluster.prometheusUrl,
      query: `sum(${WAITING}{namespace="${ns}",pod=~"${name}-[a-z0-9]+-[a-z0-9]+"})`,
      threshold: '5',
    });
    await waitForObject<Obj>(client, HorizontalPodAutoscalers, ns, `keda-hpa-${name}`, (h) => hasCondition(h, 'ScalingActive'), { timeoutMs: 180_000, description: 'KEDA\'s HPA ScalingActive' });
    const m = await waitForObject<Model>(client, AIModels, ns, name, (o) => ready(o) && condition(o, 'AutoscalingActive')?.status === 'True', {
      timeoutMs: 60_000,
      description: 'the model Ready and AutoscalingActive',
    });
    expect(m?.status?.autoscaling).toMatchObject({ autoscaler: `ScaledObject ${name} (HorizontalPodAutoscaler keda-hpa-${name})`, signal: 'queueLength', target: 5 });
    expect(await client.find(HorizontalPodAutoscalers, ns, name)).toBeUndefined();
  }, 300_000);

  it('scales on vllm:num_requests_waiting up to maxReplicas and back to minReplicas, never past either', async () => {
    const replicas = await watchDeploymentReplicas(client, ns, name);
    // 10 waiting on every pod against 5 per replica: always more than 4 replicas' worth.
    const load = SimulatedLoad.start(client, ns, `app.kubernetes.io/instance=${name}`, { gauges: { [WAITING]: 10 } });
    try {
      await waitForObject<Obj>(client, HorizontalPodAutoscalers, ns, `keda-hpa-${name}`, (h) => hasCondition(h, 'ScalingLimited', 'TooManyReplicas') && h?.status?.currentReplicas === 4, {
        timeoutMs: 240_000,
        description: 'KEDA\'s HPA at 4 replicas, held there by maxReplicas',
      });
      const busy = await waitForObject<Model>(client, AIModels, ns, name, (o) => ready(o) && o?.status?.readyReplicas === 4 && (o.status.autoscaling?.current ?? 0) >= 10, {
        timeoutMs: 120_000,
        description: 'the model Ready at 4 replicas, its queue per replica on status',
      });
      expect(busy?.status?.desiredReplicas).toBe(4);
      load.set({ gauges: { [WAITING]: 0 } });
      await waitForObject<Obj>(client, Deployments, ns, name, (d) => d?.spec?.replicas === 1, { timeoutMs: 240_000, description: 'the model back at 1 replica with an empty queue' });
    } finally {
      await load.stop();
    }
    const seen = await replicas.stop();
    expect(seen).toContain(4);
    expect(Math.max(...seen)).toBe(4);
    expect(Math.min(...seen)).toBe(1);
  }, 600_000);
});

describe('a model with minReplicas 0', () => {
  const name = 'sleepy';
  const gatewayNs = 'gateway';

  it('goes to 0 replicas when idle and back to at least 1 when requests wait for it at its gateway', async () => {
    await createModel(name, {
      autoscaling: {
        minReplicas: 0,
        maxReplicas: 3,
        target: { queueLength: 5 },
        scaleFromZero: { metric: GATEWAY_QUEUE_GAUGE, matchLabels: [{ name: 'target_model_name', value: name }] },
      },
    });
    const so = await waitForObject<Obj>(client, ScaledObjects, ns, name, (o) => o !== undefined, { timeoutMs: 60_000, description: 'the ScaledObject' });
    expect(so?.spec.triggers.map((t: { name: string }) => t.name)).toEqual(['engine-signal', 'scale-from-zero']);
    // A new model starts serving (1 replica); KEDA takes a new ScaledObject whose signals are 0 to zero.
    const m = await waitForObject<Model>(client, AIModels, ns, name, (o) => current(o) && o?.status?.desiredReplicas === 0 && o.status.readyReplicas === 0 && condition(o, 'Ready')?.reason === 'ScaledToZero', {
      timeoutMs: 180_000,
      description: 'the idle model scaled to zero',
    });
    expect(condition(m, 'AutoscalingActive')).toMatchObject({ status: 'True', reason: 'Idle' });
    expect(condition(m, 'AutoscalingActive')?.message).toContain(`it wakes when sum(${GATEWAY_QUEUE_GAUGE}{target_model_name="${name}"}) is above 0`);
    expect((await client.get<Obj>(Deployments, ns, name)).spec.replicas).toBe(0);

    const replicas = await watchDeploymentReplicas(client, ns, name);
    // No engine pod runs to report a queue. The gateway in front of the model, in a namespace of
    // its own, holds 3 requests for it: its queue gauge, labelled with the model, is what wakes it.
    await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: gatewayNs } });
    await client.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'gateway-0',
        namespace: gatewayNs,
        annotations: { ...loadAnnotations({ gauges: { [GATEWAY_QUEUE_GAUGE]: 3 } }), [GATEWAY_TARGET_MODEL_ANNOTATION]: name },
      },
      spec: { containers: [{ name: 'gateway', image: 'registry.invalid/gateway:1', ports: [{ name: 'http', containerPort: 8000 }] }] },
    } as KubeObject);
    try {
      await waitForObject<Obj>(client, Deployments, ns, name, (d) => (d?.spec?.replicas ?? 0) >= 1 && (d?.status?.readyReplicas ?? 0) >= 1, {
        timeoutMs: 180_000,
        description: 'the Deployment back to a ready replica while requests wait at the gateway',
      });
      const awake = await waitForObject<Model>(client, AIModels, ns, name, (o) => ready(o) && (o?.status?.readyReplicas ?? 0) >= 1, {
        timeoutMs: 60_000,
        description: 'the model Ready again',
      });
      expect(condition(awake, 'AutoscalingActive')).toMatchObject({ status: 'True' });
    } finally {
      await client.delete(Pods, gatewayNs, 'gateway-0');
    }
    // The gateway has handed its requests on and is gone; with both signals at 0 for the
    // cooldown, KEDA takes the model back to zero.
    await waitForObject<Model>(client, AIModels, ns, name, (o) => current(o) && o?.status?.desiredReplicas === 0 && o.status.readyReplicas === 0 && condition(o, 'Ready')?.reason === 'ScaledToZero', {
      timeoutMs: 180_000,
      description: 'the model back at zero once nothing waits',
    });
    const seen = await replicas.stop(0);
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(0);
    expect(Math.max(...seen)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...seen)).toBeLessThanOrEqual(3);
  }, 600_000);
});

describe('switching a live model between CPU, an engine signal and no autoscaling', () => {
  const name = 'switch';

  it('never drops the Deployment below its count, and never has two HPAs at once', async () => {
    // minReplicas is the count, so neither autoscaler has a reason to change it: any dip is the handover's.
    await createModel(name, { replicas: 3, autoscaling: { minReplicas: 3, maxReplicas: 6, target: { cpuUtilizationPercent: 80 } } });
    await waitForObject<Obj>(client, HorizontalPodAutoscalers, ns, name, (h) => hasCondition(h, 'ScalingActive'), { timeoutMs: 120_000, description: 'the CPU HPA active' });
    await waitForObject<Model>(client, AIModels, ns, name, (o) => ready(o) && o?.status?.readyReplicas === 3, { timeoutMs: 60_000 });
    const replicas = await watchDeploymentReplicas(client, ns, name);
    const hpas = await watchHpaSets(name);

    // CPU -> queue length: the operator's HPA goes, then the ScaledObject and KEDA's HPA come.
    await client.patch(AIModels, ns, name, { spec: { autoscaling: { target: { cpuUtilizationPercent: null, queueLength: 5 } } } }, { kind: 'merge' });
    await waitForObject<Obj>(client, HorizontalPodAutoscalers, ns, `keda-hpa-${name}`, (h) => hasCondition(h, 'ScalingActive'), { timeoutMs: 180_000, description: 'KEDA\'s HPA active' });
    await waitForList<Obj>(client, HorizontalPodAutoscalers, (l) => !l.some((h) => h.metadata.name === name), { namespace: ns, description: 'the operator HPA gone' });
    await waitForObject<Model>(client, AIModels, ns, name, (o) => ready(o) && condition(o, 'AutoscalingActive')?.status === 'True' && o?.status?.autoscaling?.signal === 'queueLength', { timeoutMs: 60_000 });

    // -> off: the operator takes replicas back (spec.replicas 3), then the ScaledObject goes.
    await client.patch(AIModels, ns, name, [{ op: 'remove', path: '/spec/autoscaling' }], { kind: 'json' });
    await waitForList<Obj>(client, ScaledObjects, (l) => !l.some((o) => o.metadata.name === name), { namespace: ns, timeoutMs: 60_000, description: 'the ScaledObject gone' });
    await waitForList<Obj>(client, HorizontalPodAutoscalers, (l) => !l.some((h) => h.metadata.name === `keda-hpa-${name}`), { namespace: ns, timeoutMs: 60_000, description: 'KEDA\'s HPA gone' });

    // -> on again, on the engine signal: the handover manager holds the count until KEDA's HPA takes it.
    await client.patch(AIModels, ns, name, { spec: { autoscaling: { minReplicas: 3, maxReplicas: 6, target: { queueLength: 5 } } } }, { kind: 'merge' });
    await waitForObject<Obj>(client, HorizontalPodAutoscalers, ns, `keda-hpa-${name}`, (h) => hasCondition(h, 'ScalingActive'), { timeoutMs: 180_000, description: 'KEDA\'s HPA active again' });

    // -> CPU: the ScaledObject and KEDA's HPA go before the operator's HPA comes.
    await client.patch(AIModels, ns, name, { spec: { autoscaling: { target: { queueLength: null, cpuUtilizationPercent: 80 } } } }, { kind: 'merge' });
    await waitForObject<Obj>(client, HorizontalPodAutoscalers, ns, name, (h) => hasCondition(h, 'ScalingActive'), { timeoutMs: 180_000, description: 'the CPU HPA active again' });
    await waitForList<Obj>(client, ScaledObjects, (l) => !l.some((o) => o.metadata.name === name), { namespace: ns, description: 'the ScaledObject gone' });
    await waitForObject<Model>(client, AIModels, ns, name, (o) => ready(o) && o?.status?.readyReplicas === 3 && o.status.autoscaling?.signal === 'cpuUtilizationPercent', { timeoutMs: 60_000 });

    const seen = await replicas.stop();
    const sets = await hpas.stop();
    expect(Math.min(...seen)).toBe(3);
    expect(sets).toEqual([[name], [], [`keda-hpa-${name}`], [], [`keda-hpa-${name}`], [], [name]]);
  }, 900_000);
});
