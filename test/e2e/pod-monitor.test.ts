// How Prometheus finds the engines' metrics: a PodMonitor per model where the Prometheus
// Operator's CRD is served, prometheus.io/* pod annotations where it is not. On a cluster of this
// file's own, because whether the CRD exists is decided when an operator starts, and a CRD that
// comes and goes would disturb the other files' operators on the shared cluster.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../hack/localcluster/cluster.ts';
import { installAIModelCRD } from '../../hack/localcluster/crd.ts';
import { AIModels } from '../../src/api/v1/resource.ts';
import { parseConfig } from '../../src/config/config.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { CustomResourceDefinitions, Deployments, Pods, PodMonitors } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { startOperator } from '../../src/operator.ts';
import type { RunningOperator } from '../../src/operator.ts';
import { podMonitorStubCrd } from '../support/monitoring-crds.ts';
import { waitForList, waitForObject } from '../support/wait.ts';

type Obj = KubeObject & { spec?: any; status?: any };
type Model = KubeObject & { status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] } };

let cluster: LocalCluster;
let client: KubeClient;
const operators: RunningOperator[] = [];

beforeAll(async () => {
  cluster = await LocalCluster.start({ stateDir: await mkdtemp(join(tmpdir(), 'aimodel-podmonitor-')), log: () => {} });
  client = await cluster.client();
  await installAIModelCRD(cluster.binDir, cluster.kubeconfigPath);
});

afterAll(async () => {
  await Promise.all(operators.map((o) => o.stop().catch(() => {})));
  await cluster?.stop();
});

async function operatorIn(ns: string): Promise<RunningOperator> {
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cluster.kubeconfigPath);
  const config = parseConfig([`--namespaces=${ns}`, '--leader-elect=false', '--metrics-bind-address=127.0.0.1:0', '--health-probe-bind-address=127.0.0.1:0'], {});
  const operator = await startOperator(config, kubeConfig, pino({ level: 'warn' }));
  operators.push(operator);
  return operator;
}

const ready = (m: Model | undefined) => !!m && m.status?.observedGeneration === m.metadata.generation && m.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

async function createModel(ns: string, name: string, engine: string): Promise<Model> {
  await client.create({ apiVersion: 'ai.openai.com/v1', kind: 'AIModel', metadata: { name, namespace: ns }, spec: { model: name, engine, replicas: 2 } });
  return (await waitForObject<Model>(client, AIModels, ns, name, ready, { timeoutMs: 90_000, description: `AIModel ${name} Ready` }))!;
}

describe('without the PodMonitor CRD', () => {
  it('annotates the pods with the engine metrics port and path, and nothing fails', async () => {
    expect(await client.find(CustomResourceDefinitions, undefined, 'podmonitors.monitoring.coreos.com')).toBeUndefined();
    const ns = 'annotated';
    await operatorIn(ns);
    await createModel(ns, 'sg', 'sglang');
    const pods = await waitForList<Obj>(client, Pods, (l) => l.length === 2, { namespace: ns, labelSelector: 'app.kubernetes.io/instance=sg' });
    for (const pod of pods) {
      expect(pod.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8000', 'prometheus.io/path': '/metrics' });
    }
  });
});

describe('with the PodMonitor CRD', () => {
  it('makes a PodMonitor per model that selects exactly its pods on the metrics port and path, gone with the model', async () => {
    await client.create(podMonitorStubCrd('pod-monitor-test') as KubeObject);
    await waitForObject<Obj>(client, CustomResourceDefinitions, undefined, 'podmonitors.monitoring.coreos.com', (c) =>
      c?.status?.conditions?.some((x: { type: string; status: string }) => x.type === 'Established' && x.status === 'True') === true,
    );
    const ns = 'monitored';
    await operatorIn(ns);
    const model = await createModel(ns, 'vl', 'vllm');
    await createModel(ns, 'neighbour', 'trtllm');

    const monitor = await waitForObject<Obj>(client, PodMonitors, ns, 'vl', (o) => o !== undefined);
    expect(monitor?.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'AIModel', name: 'vl', uid: model.metadata.uid, controller: true })]);
    expect(monitor?.spec.podMetricsEndpoints).toEqual([{ port: 'http', path: '/metrics' }]);
    const neighbour = await waitForObject<Obj>(client, PodMonitors, ns, 'neighbour', (o) => o !== undefined);
    expect(neighbour?.spec.podMetricsEndpoints).toEqual([{ port: 'http', path: '/prometheus/metrics' }]);

    // Its selector picks the model's pods and no other, and those pods expose the named port.
    const selector = Object.entries(monitor!.spec.selector.matchLabels as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',');
    const selected = await client.listAll<Obj>(Pods, { namespace: ns, labelSelector: selector });
    const own = await waitForList<Obj>(client, Pods, (l) => l.length === 2, { namespace: ns, labelSelector: 'app.kubernetes.io/instance=vl' });
    expect(selected.map((p) => p.metadata.name).sort()).toEqual(own.map((p) => p.metadata.name).sort());
    for (const pod of selected) {
      expect(pod.spec.containers[0].ports).toContainEqual(expect.objectContaining({ name: 'http', containerPort: 8000 }));
      expect(pod.metadata.annotations?.['prometheus.io/scrape']).toBeUndefined();
    }

    // An engine without metrics gets none.
    await createModel(ns, 'ol', 'ollama');
    expect(await client.find(PodMonitors, ns, 'ol')).toBeUndefined();

    await client.delete(AIModels, ns, 'vl', { propagationPolicy: 'Foreground' });
    await waitForList<Obj>(client, PodMonitors, (l) => !l.some((o) => o.metadata.name === 'vl'), { namespace: ns, description: 'the PodMonitor collected with its model' });
    await waitForList<Obj>(client, Deployments, (l) => !l.some((o) => o.metadata.name === 'vl'), { namespace: ns });
    expect(await client.find(PodMonitors, ns, 'neighbour')).toBeDefined();
  });
});
