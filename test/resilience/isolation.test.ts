// Scenario 8: isolation and privilege. The operator runs as the Helm chart's ServiceAccount with
// the chart's namespaced RBAC (watchNamespaces=[A, B]). Pods it creates pass namespace A's
// `pod-security.kubernetes.io/enforce=restricted`; models in A never create or change anything
// in B, not even objects in B that look like theirs; the operator's identity cannot read Secrets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { API_VERSION, KIND } from '../../src/api/v1/aimodel.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { ApiError } from '../../src/kube/errors.ts';
import { CoreEvents, Deployments, Pods, Secrets, Services } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { poll } from '../../hack/localcluster/cluster.ts';
import type { OperatorProcess } from '../support/operator-process.ts';
import { isWrite } from '../support/resilience/audit.ts';
import { operatorNamespace, operatorUser } from '../support/resilience/cluster.ts';
import { waitConverged } from '../support/resilience/convergence.ts';
import type { Obj } from '../support/resilience/convergence.ts';
import { useLedger } from '../support/resilience/ledger.ts';
import { useResilienceScenario } from '../support/resilience/scenario.ts';

const ledger = useLedger('8 isolation and privilege');
const restricted = { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' };
// Namespaces A and B, and the chart's namespaced RBAC: a Role in each.
const scenario = useResilienceScenario({ namespaces: ['iso-a', 'iso-b'], namespaceLabels: restricted, operatorAccess: 'namespaces' });

let a: string;
let b: string;
let operatorClient: KubeClient;
let op: OperatorProcess;
let since: Date;
const bBefore = new Map<string, string>();

/** What a writer could change in B: everything but status and bookkeeping; and who manages it. */
async function bState(): Promise<Map<string, string>> {
  const state = new Map<string, string>();
  for (const type of [Deployments, Services]) {
    for (const o of await scenario.cluster.client.listAll<Obj>(type, { namespace: b })) {
      const managers = (o.metadata.managedFields ?? []).map((f) => (f as { manager?: string }).manager).sort();
      state.set(`${type.kind}/${o.metadata.name}`, JSON.stringify({ generation: o.metadata.generation, labels: o.metadata.labels, annotations: o.metadata.annotations, owners: o.metadata.ownerReferences, spec: o.spec, managers }));
    }
  }
  return state;
}

const models = (namespace: string): Obj[] =>
  [
    { name: 'plain', spec: { model: 'plain' } },
    { name: 'gpu', spec: { model: 'gpu', resources: { requests: { cpu: '1', memory: '1Gi', 'nvidia.com/gpu': 1 } }, env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'hf-token', key: 'token' } } }] } },
    { name: 'scaled', spec: { model: 'scaled', autoscaling: { minReplicas: 2, maxReplicas: 4 }, podLabels: { team: 'ml' } } },
    { name: 'stored', spec: { model: 'stored', storage: { emptyDir: { sizeLimit: '1Gi' } }, strategy: { type: 'Recreate' } } },
  ].map((m) => ({ apiVersion: API_VERSION, kind: KIND, metadata: { name: m.name, namespace }, spec: m.spec }));

beforeAll(async () => {
  [a, b] = scenario.namespaces as [string, string];
  const kc = new KubeConfig();
  kc.loadFromFile(scenario.kubeconfig);
  operatorClient = await KubeClient.fromKubeConfig(kc, { userAgent: 'resilience-as-operator' });

  // Namespace B holds a Secret, and objects that look like the operator's: same names as the
  // models in A, even its managed-by label, so they sit in its cache.
  await scenario.cluster.client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'hf-token', namespace: a }, stringData: { token: 'secret' } } as KubeObject);
  await scenario.cluster.client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'hf-token', namespace: b }, stringData: { token: 'secret' } } as KubeObject);
  const lookalike = { 'app.kubernetes.io/managed-by': 'aimodel-operator', 'app.kubernetes.io/instance': 'plain', 'app.kubernetes.io/name': 'aimodel' };
  await scenario.cluster.client.create({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'plain', namespace: b, labels: lookalike },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'lookalike' } },
      template: {
        metadata: { labels: { app: 'lookalike' } },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{ name: 'c', image: 'example.com/user-app:1', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
        },
      },
    },
  } as KubeObject);
  await scenario.cluster.client.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'gpu', namespace: b, labels: lookalike }, spec: { ports: [{ port: 80 }] } } as KubeObject);

  // Let the Deployment controller finish with B's Deployment before taking the snapshot.
  await poll('the Deployment in B to be available', 60_000, async () => {
    const d = await scenario.cluster.client.get<Obj>(Deployments, b, 'plain');
    return d.status?.observedGeneration === d.metadata.generation && d.status?.availableReplicas === 1;
  });
  since = new Date();
  op = await scenario.startOperator();
  for (const [k, v] of await bState()) bBefore.set(k, v);
  for (const m of models(a)) await scenario.cluster.client.create(m);
});

afterAll(async () => {
  await operatorClient?.close();
});

describe('isolation and privilege', () => {
  it('namespace A enforces the restricted Pod Security Standard (the check can fail)', async () => {
    const privileged = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'root', namespace: a }, spec: { containers: [{ name: 'c', image: 'busybox', securityContext: { privileged: true } }] } } as KubeObject;
    const refused = await scenario.cluster.client.create(privileged, { dryRun: true }).then(() => undefined, (err: unknown) => err as ApiError);
    expect(refused?.status).toBe(403);
    expect(refused?.message).toMatch(/violates PodSecurity "restricted/);
  });

  it('the models in A become Ready: their pods were admitted under restricted', async () => {
    const { ms } = await waitConverged(scenario.cluster.client, a, { ready: true, timeoutMs: 180_000, expectModels: 4 });
    ledger.figure('models in A ready after (s)', ms / 1000);
    const pods = await scenario.cluster.client.listAll<Obj>(Pods, { namespace: a, labelSelector: 'app.kubernetes.io/managed-by=aimodel-operator' });
    ledger.figure('pods admitted in A', pods.length);
    expect(pods.length).toBeGreaterThanOrEqual(5);
    const events = await scenario.cluster.client.listAll<KubeObject & { reason?: string; message?: string }>(CoreEvents, { namespace: a });
    expect(events.filter((e) => e.reason === 'FailedCreate').map((e) => e.message)).toEqual([]);
  });

  it('nothing in B was created or changed', async () => {
    const writes = (await scenario.cluster.audit.byOperator(operatorUser, since)).filter((e) => isWrite(e) && e.objectRef?.namespace !== a && e.objectRef?.namespace !== operatorNamespace);
    ledger.figure('operator writes outside A', writes.length);
    expect(writes.map((e) => `${e.verb} ${e.objectRef?.resource} ${e.objectRef?.namespace}/${e.objectRef?.name}`)).toEqual([]);
    expect(await bState()).toEqual(bBefore);
  });

  it('the operator\'s identity cannot read Secrets, and never asked to', async () => {
    const denied: string[] = [];
    for (const namespace of [a, b, operatorNamespace]) {
      for (const attempt of [() => operatorClient.get(Secrets, namespace, 'hf-token'), () => operatorClient.list(Secrets, { namespace })]) {
        const err = await attempt().then(() => undefined, (e: unknown) => e as ApiError);
        if (err?.status === 403) denied.push(namespace);
        else expect.fail(`reading Secrets in ${namespace} answered ${err?.status ?? 200}`);
      }
    }
    const clusterWide = await operatorClient.list(Secrets).then(() => undefined, (e: unknown) => e as ApiError);
    expect(clusterWide?.status).toBe(403);
    for (const verb of ['get', 'list', 'watch']) {
      const review = await operatorClient.request<{ status: { allowed: boolean } }>({
        method: 'POST',
        path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { namespace: a, verb, resource: 'secrets' } } },
      });
      expect(review.status.allowed, `${verb} secrets`).toBe(false);
    }
    const asked = (await scenario.cluster.audit.byOperator(operatorUser, since)).filter((e) => e.objectRef?.resource === 'secrets');
    expect(asked).toEqual([]);
    ledger.figure('Secret reads denied', denied.length + 1);
  });

  it('the chart\'s RBAC was enough: the operator was never denied', async () => {
    const forbidden = (await scenario.cluster.audit.byOperator(operatorUser, since)).filter((e) => e.responseStatus?.code === 403);
    expect(forbidden.map((e) => `${e.verb} ${e.objectRef?.resource} ${e.objectRef?.namespace}`)).toEqual([]);
    expect(op.crashed, op.tail()).toBeUndefined();
  });
});
