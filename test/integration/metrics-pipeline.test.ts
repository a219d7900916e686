// The shared cluster's resource-metrics pipeline, every hop real: kwok simulates each pod's CPU and
// memory from its annotations, metrics-server scrapes kwok as it would kubelets (through the nodes'
// loopback addresses) and serves metrics.k8s.io through the aggregation layer, and the HPA
// controller of kube-controller-manager scales on it. Replica counts are watched, never timed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deployments, HorizontalPodAutoscalers, Nodes } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { poll } from '../../hack/localcluster/cluster.ts';
import { nodeMetricsPath } from '../../hack/localcluster/metrics.ts';
import { useTestCluster } from '../support/cluster.ts';
import { clusterComponents, nonLoopbackDialsInLogs, watchDials } from '../support/loopback-dials.ts';
import type { Dial } from '../support/loopback-dials.ts';
import { loadAnnotations, SimulatedLoad } from '../support/simulated-load.ts';
import { waitForObject } from '../support/wait.ts';
import { expectUpToAndBack, watchDeploymentReplicas, type Conditioned, hasCondition } from '../support/replica-history.ts';
import { cpuHpa, plainDeployment } from '../support/workloads.ts';

type NodeObject = KubeObject & {
  metadata: { annotations?: Record<string, string> };
  status?: { addresses?: { type: string; address: string }[]; daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } };
};

const inferenceContainer = { name: 'inference', image: 'registry.invalid/engine:1', resources: { requests: { cpu: '100m', memory: '64Mi' } } };

/** CPU in millicores and memory in MiB from `kubectl top pods` output ("251m", "64Mi"). */
function parseTop(stdout: string): { pod: string; cpuMillis: number; memoryMi: number }[] {
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l.trim())
    .map((line) => {
      const [pod, cpu, memory] = line.trim().split(/\s+/) as [string, string, string];
      return { pod, cpuMillis: Number(cpu.replace(/m$/, '')), memoryMi: Number(memory.replace(/Mi$/, '')) };
    });
}

describe('the local cluster metrics pipeline (metrics-server, by default)', () => {
  let dials: { stop(): Promise<Dial[]> };
  let logDir: string;

  beforeAll(async () => {
    const cluster = await useTestCluster();
    const components = await clusterComponents(cluster.kubeconfigPath);
    logDir = components.logDir;
    // Everything the cluster runs, sampled while these tests drive metrics through it.
    dials = watchDials(() => components.pids);
  });

  afterAll(async () => {
    await dials?.stop();
  });

  it('registers nodes that report only loopback addresses, kwok as their kubelet and where their resource metrics are', async () => {
    const cluster = await useTestCluster();
    const nodes = await cluster.client.listAll<NodeObject>(Nodes);
    const kwokNodes = nodes.filter((n) => n.metadata.name.startsWith('kwok-'));
    expect(kwokNodes.length).toBeGreaterThanOrEqual(4);
    for (const node of kwokNodes) {
      expect(node.status?.addresses).toEqual(expect.arrayContaining([{ type: 'Hostname', address: 'localhost' }]));
      for (const { address } of node.status?.addresses ?? []) expect(address).toMatch(/^(localhost|127\.\d+\.\d+\.\d+)$/);
      expect(node.status?.daemonEndpoints?.kubeletEndpoint?.Port).toBeGreaterThan(0);
      expect(node.metadata.annotations?.['metrics.k8s.io/resource-metrics-path']).toBe(nodeMetricsPath(node.metadata.name));
    }
  });

  it('lists the annotated usage of each pod in kubectl top pods', async () => {
    const cluster = await useTestCluster();
    const ns = await cluster.newNamespace();
    await cluster.client.create(plainDeployment(ns, 'top', 2, { container: inferenceContainer, podAnnotations: loadAnnotations({ cpu: '250m', memory: '48Mi' }) }));
    // CPU is a rate: metrics-server needs two scrapes (10 s apart) of a pod before it reports one.
    const top = await poll('kubectl top pods to list both pods', 120_000, async () => {
      const result = await cluster.kubectl(['top', 'pods', '-n', ns, '--no-headers']);
      const rows = result.code === 0 ? parseTop(result.stdout) : [];
      return rows.length === 2 ? rows : undefined;
    }, { intervalMs: 1_000 });
    for (const row of top) {
      expect(row.pod).toMatch(/^top-/);
      // The rate of a counter kwok integrates between scrapes: within a few millicores of 250m.
      expect(row.cpuMillis).toBeGreaterThanOrEqual(240);
      expect(row.cpuMillis).toBeLessThanOrEqual(260);
      expect(row.memoryMi).toBe(48);
    }
  }, 180_000);

  it('scales a Deployment with an autoscaling/v2 HPA on CPU up to its maximum under load, and back to its minimum without', async () => {
    const cluster = await useTestCluster();
    const { client } = cluster;
    const ns = await cluster.newNamespace();
    // 10m of a 100m request: 10 % against a 50 % target.
    const load = SimulatedLoad.start(client, ns, 'app=web', { cpu: '10m', memory: '32Mi' });
    try {
      await client.create(plainDeployment(ns, 'web', 1, { container: inferenceContainer }));
      await client.create(cpuHpa(ns, 'web', { min: 1, max: 4 }, 50));
      await waitForObject<Conditioned>(client, HorizontalPodAutoscalers, ns, 'web', (hpa) => hasCondition(hpa, 'ScalingActive'), {
        timeoutMs: 120_000,
        description: 'the HPA ScalingActive (it reads metrics.k8s.io)',
      });
      const replicas = await watchDeploymentReplicas(client, ns, 'web');

      // 200m of 100m: 200 % against 50 %, so it wants 4 times as many; it may have only 4.
      load.set({ cpu: '200m' });
      await waitForObject<Conditioned>(client, HorizontalPodAutoscalers, ns, 'web', (hpa) => hasCondition(hpa, 'ScalingLimited', 'TooManyReplicas') && (hpa as { status?: { currentReplicas?: number } }).status?.currentReplicas === 4, {
        timeoutMs: 150_000,
        description: 'the HPA at 4 replicas and held there by maxReplicas',
      });
      await waitForObject(client, Deployments, ns, 'web', (d) => (d as { status?: { readyReplicas?: number } } | undefined)?.status?.readyReplicas === 4, {
        timeoutMs: 60_000,
        description: 'the Deployment with 4 ready replicas',
      });

      load.set({ cpu: '1m' });
      await waitForObject(client, Deployments, ns, 'web', (d) => (d as { spec?: { replicas?: number } } | undefined)?.spec?.replicas === 1, {
        timeoutMs: 150_000,
        description: 'the Deployment back at 1 replica once the load is gone',
      });
      const seen = await replicas.stop(1);
      expectUpToAndBack(seen, { min: 1, max: 4 });
    } finally {
      await load.stop();
    }
  }, 420_000);

  it('dials nothing but loopback while metrics flow (sockets of every component, and their logs)', async () => {
    const seen = await dials.stop();
    expect(seen).toEqual([]);
    expect(await nonLoopbackDialsInLogs(logDir)).toEqual([]);
  });
});
