// The local control plane behaves like a real cluster: controllers, scheduler and kwok nodes.
import { describe, expect, it } from 'vitest';
import { Deployments, HorizontalPodAutoscalers, Nodes, Pods, ReplicaSets } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { useTestCluster } from '../support/cluster.ts';
import { waitForList, waitForObject } from '../support/wait.ts';
import { cpuHpa, plainDeployment } from '../support/workloads.ts';

type Pod = KubeObject & { status?: { phase?: string; conditions?: { type: string; status: string }[] }; spec?: { nodeName?: string } };
type Deployment = KubeObject & { status?: { availableReplicas?: number; conditions?: { type: string; status: string }[] } };
type Hpa = KubeObject & { status?: { currentReplicas?: number; desiredReplicas?: number; conditions?: unknown[] } };

const ready = (p: Pod) => p.status?.phase === 'Running' && !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

describe('local control plane', () => {
  it('reports the pinned Kubernetes version and lists fake nodes Ready with GPU capacity', async () => {
    const cluster = await useTestCluster();
    const version = await cluster.client.request<{ gitVersion: string }>({ method: 'GET', path: '/version' });
    expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
    const nodes = await cluster.client.listAll<KubeObject & { status: { capacity: Record<string, string>; conditions: { type: string; status: string }[] } }>(Nodes);
    expect(nodes.length).toBeGreaterThanOrEqual(4);
    expect(nodes.every((n) => n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'))).toBe(true);
    expect(nodes.filter((n) => Number(n.status.capacity['nvidia.com/gpu'] ?? 0) > 0)).toHaveLength(2);
    const kubectl = await cluster.kubectl(['get', 'nodes', '-o', 'name']);
    expect(kubectl.code).toBe(0);
    expect(kubectl.stdout.trim().split('\n')).toHaveLength(nodes.length);
  });

  it('runs a Deployment of 3 replicas on fake nodes and garbage-collects it', async () => {
    const cluster = await useTestCluster();
    const ns = await cluster.newNamespace();
    await cluster.client.create(plainDeployment(ns, 'web', 3, { container: { resources: { requests: { cpu: '100m' } } } }));

    const pods = await waitForList<Pod>(cluster.client, Pods, (ps) => ps.length === 3 && ps.every(ready), {
      namespace: ns,
      labelSelector: 'app=web',
      description: '3 Running and Ready pods',
    });
    expect(pods.every((p) => p.spec?.nodeName?.startsWith('kwok-'))).toBe(true);
    await waitForObject<Deployment>(cluster.client, Deployments, ns, 'web', (d) =>
      !!d?.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') && d.status.availableReplicas === 3,
    );

    expect(await cluster.client.delete(Deployments, ns, 'web', { propagationPolicy: 'Background' })).toBe(true);
    await waitForList(cluster.client, ReplicaSets, (rs) => rs.length === 0, { namespace: ns, description: 'the ReplicaSet to be collected' });
    await waitForList(cluster.client, Pods, (ps) => ps.length === 0, { namespace: ns, description: 'the pods to be collected' });
  });

  it('accepts an autoscaling/v2 HPA and the HPA controller writes its status', async () => {
    const cluster = await useTestCluster();
    const ns = await cluster.newNamespace();
    await cluster.client.create(plainDeployment(ns, 'scaled', 1, { container: { resources: { requests: { cpu: '100m' } } } }));
    await cluster.client.create(cpuHpa(ns, 'scaled', { min: 2, max: 5 }, 80));
    // Below minReplicas the controller scales up even without a metrics server.
    const hpa = await waitForObject<Hpa>(cluster.client, HorizontalPodAutoscalers, ns, 'scaled', (h) => (h?.status?.desiredReplicas ?? 0) === 2);
    expect(hpa?.status?.conditions).toBeDefined();
    await waitForList<Pod>(cluster.client, Pods, (ps) => ps.filter(ready).length === 2, { namespace: ns, labelSelector: 'app=scaled' });
  });
});
