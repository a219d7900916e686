// The engine-signal pipeline, on a cluster of this file's own (the shared one runs no KEDA): kwok
// serves each pod's simulated engine gauges, Prometheus scrapes them (found through kwok's service
// discovery), KEDA's operator queries Prometheus for a ScaledObject's trigger and its metrics
// adapter serves external.metrics.k8s.io to the HPA controller. Replica counts are watched.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.ts';
import { Deployments, HorizontalPodAutoscalers, registerResource } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { LocalCluster, poll } from '../../hack/localcluster/cluster.ts';
import { GATEWAY_QUEUE_GAUGE, GATEWAY_TARGET_MODEL_ANNOTATION } from '../../hack/localcluster/metrics.ts';
import { nonLoopbackDialsInLogs, watchDials } from '../support/loopback-dials.ts';
import type { Dial } from '../support/loopback-dials.ts';
import { expectUpToAndBack, hasCondition, watchDeploymentReplicas } from '../support/replica-history.ts';
import { loadAnnotations, setPodLoad, SimulatedLoad } from '../support/simulated-load.ts';
import { waitForObject } from '../support/wait.ts';
import { plainDeployment } from '../support/workloads.ts';

const ScaledObjects = registerResource({ apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', plural: 'scaledobjects', namespaced: true });
const WAITING = 'vllm:num_requests_waiting';

let cluster: LocalCluster;
let client: KubeClient;
let dials: { stop(): Promise<Dial[]> };
let namespaces = 0;

async function newNamespace(): Promise<string> {
  const name = `keda-${++namespaces}`;
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

/** The model container as the engine gauges label it (container, endpoint=http). */
const engineContainer = { name: 'inference', image: 'registry.invalid/vllm:1', ports: [{ name: 'http', containerPort: 8000 }] };

/** A ScaledObject whose Prometheus trigger asks for one replica per 5 waiting requests. */
function scaledObject(namespace: string, name: string, query: string, bounds: { min: number; max: number }): KubeObject {
  return {
    apiVersion: ScaledObjects.apiVersion,
    kind: ScaledObjects.kind,
    metadata: { name, namespace },
    spec: {
      scaleTargetRef: { name },
      minReplicaCount: bounds.min,
      maxReplicaCount: bounds.max,
      pollingInterval: 1,
      cooldownPeriod: 5,
      triggers: [{ type: 'prometheus', metadata: { serverAddress: cluster.prometheusUrl!, query, threshold: '5' } }],
    },
  } as KubeObject;
}

interface PromVector {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

async function promQuery(query: string): Promise<PromVector['data']['result']> {
  const res = await fetch(`${cluster.prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as PromVector;
  if (body.status !== 'success') throw new Error(`Prometheus query ${query}: ${JSON.stringify(body)}`);
  return body.data.result;
}

const replicasOf = (d: KubeObject | undefined) => (d as { spec?: { replicas?: number } } | undefined)?.spec?.replicas;
const readyOf = (d: KubeObject | undefined) => (d as { status?: { readyReplicas?: number } } | undefined)?.status?.readyReplicas ?? 0;

describe('the local cluster metrics pipeline with KEDA and Prometheus', () => {
  beforeAll(async () => {
    cluster = await LocalCluster.start({ stateDir: await mkdtemp(join(tmpdir(), 'aimodel-keda-')), keda: true });
    client = await cluster.client();
    dials = watchDials(() => Object.values(cluster.pids()));
  }, 1_200_000); // the first use builds KEDA from source (minutes on 2 cores)

  afterAll(async () => {
    await dials?.stop();
    await cluster?.stop();
  });

  it('serves external.metrics.k8s.io and KEDA\'s CRDs, and exposes Prometheus', async () => {
    expect(cluster.prometheusUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const groups = await client.request<{ groups: { name: string }[] }>({ method: 'GET', path: '/apis' });
    expect(groups.groups.map((g) => g.name)).toEqual(expect.arrayContaining(['external.metrics.k8s.io', 'metrics.k8s.io', 'keda.sh', 'eventing.keda.sh']));
    expect(Object.keys(cluster.pids())).toEqual(expect.arrayContaining(['keda-operator', 'keda-adapter', 'prometheus', 'metrics-server']));
  });

  it('serves each pod\'s engine gauges to Prometheus labelled as a PodMonitor labels a real pod\'s', async () => {
    const ns = await newNamespace();
    await client.create(plainDeployment(ns, 'model', 2, { container: engineContainer }));
    const load = SimulatedLoad.start(client, ns, 'app=model', { gauges: { [WAITING]: 3, 'vllm:num_requests_running': 2, 'vllm:kv_cache_usage_perc': 0.25 } });
    try {
      const series = await poll('Prometheus to hold the waiting gauge of both pods at 3', 90_000, async () => {
        const result = await promQuery(`${WAITING}{namespace="${ns}"}`);
        return result.length === 2 && result.every((s) => s.value[1] === '3') ? result : undefined;
      }, { intervalMs: 500 });
      for (const { metric } of series) {
        expect(metric).toMatchObject({ __name__: WAITING, namespace: ns, container: 'inference', endpoint: 'http' });
        expect(metric.pod).toMatch(/^model-/);
      }
      // The query an operator writes for a model's replicas works as written.
      expect((await promQuery(`sum(${WAITING}{namespace="${ns}",pod=~"model-.*"})`))[0]?.value[1]).toBe('6');
      expect((await promQuery(`sum(vllm:kv_cache_usage_perc{namespace="${ns}"})`))[0]?.value[1]).toBe('0.5');
    } finally {
      await load.stop();
    }
  }, 180_000);

  it('scales a Deployment with a ScaledObject on vllm:num_requests_waiting up to its maximum, and back to its minimum', async () => {
    const ns = await newNamespace();
    await client.create(plainDeployment(ns, 'queue', 1, { container: engineContainer }));
    const load = SimulatedLoad.start(client, ns, 'app=queue', { gauges: { [WAITING]: 0 } });
    try {
      await client.create(scaledObject(ns, 'queue', `sum(${WAITING}{namespace="${ns}",pod=~"queue-.*"})`, { min: 1, max: 4 }));
      await waitForObject(client, HorizontalPodAutoscalers, ns, 'keda-hpa-queue', (hpa) => hasCondition(hpa, 'ScalingActive'), {
        timeoutMs: 120_000,
        description: 'the HPA KEDA made ScalingActive (it reads external.metrics.k8s.io)',
      });
      const replicas = await watchDeploymentReplicas(client, ns, 'queue');

      // 10 waiting per pod against 5 per replica: always more than 4 would take.
      load.set({ gauges: { [WAITING]: 10 } });
      await waitForObject(client, HorizontalPodAutoscalers, ns, 'keda-hpa-queue', (hpa) => hasCondition(hpa, 'ScalingLimited', 'TooManyReplicas') && (hpa as { status?: { currentReplicas?: number } }).status?.currentReplicas === 4, {
        timeoutMs: 150_000,
        description: 'the HPA at 4 replicas and held there by maxReplicaCount',
      });
      await waitForObject(client, Deployments, ns, 'queue', (d) => readyOf(d) === 4, { timeoutMs: 60_000, description: 'the Deployment with 4 ready replicas' });

      load.set({ gauges: { [WAITING]: 0 } });
      await waitForObject(client, Deployments, ns, 'queue', (d) => replicasOf(d) === 1, { timeoutMs: 150_000, description: 'the Deployment back at 1 replica with an empty queue' });
      const seen = await replicas.stop(1);
      expectUpToAndBack(seen, { min: 1, max: 4 });
    } finally {
      await load.stop();
    }
  }, 420_000);

  it('scales a ScaledObject with minReplicaCount 0 to 0 when idle and back to 1 when its queue is non-zero', async () => {
    const ns = await newNamespace();
    // With no replica, no engine pod reports a queue: the gateway in front of the model, a pod
    // that stays, reports the requests it holds for the model (labelled with the model's name).
    await client.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'gateway', namespace: ns, annotations: { ...loadAnnotations({ gauges: { [GATEWAY_QUEUE_GAUGE]: 0 } }), [GATEWAY_TARGET_MODEL_ANNOTATION]: 'sleepy' } },
      spec: { containers: [{ name: 'gateway', image: 'registry.invalid/gateway:1', ports: [{ name: 'http', containerPort: 8000 }] }] },
    } as KubeObject);
    await client.create(plainDeployment(ns, 'sleepy', 1, { container: engineContainer }));
    const replicas = await watchDeploymentReplicas(client, ns, 'sleepy');
    await client.create(scaledObject(ns, 'sleepy', `sum(${GATEWAY_QUEUE_GAUGE}{target_model_name="sleepy"})`, { min: 0, max: 4 }));
    await waitForObject(client, Deployments, ns, 'sleepy', (d) => replicasOf(d) === 0, { timeoutMs: 120_000, description: 'the idle Deployment scaled to 0' });
    await waitForObject(client, ScaledObjects, ns, 'sleepy', (so) => hasCondition(so, 'Ready') && !hasCondition(so, 'Active'), { timeoutMs: 30_000, description: 'the ScaledObject Ready and not Active' });

    await setPodLoad(client, ns, 'gateway', { gauges: { [GATEWAY_QUEUE_GAUGE]: 3 } });
    await waitForObject(client, Deployments, ns, 'sleepy', (d) => (replicasOf(d) ?? 0) >= 1 && readyOf(d) >= 1, { timeoutMs: 120_000, description: 'the Deployment back to a ready replica' });
    await waitForObject(client, ScaledObjects, ns, 'sleepy', (so) => hasCondition(so, 'Active'), { timeoutMs: 30_000, description: 'the ScaledObject Active' });
    const seen = await replicas.stop(1);
    expect(seen).toContain(0);
    expect(seen.at(-1)).toBe(1);
    expect(Math.max(...seen)).toBe(1);
  }, 300_000);

  it('dials nothing but loopback (sockets of every component, KEDA and Prometheus included, and their logs)', async () => {
    expect(await dials.stop()).toEqual([]);
    expect(await nonLoopbackDialsInLogs(join(cluster.stateDir, 'logs'))).toEqual([]);
  });
});
