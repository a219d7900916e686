// Where the operator's authority ends: objects it does not control, fields other writers add,
// and causes it cannot fix itself but must notice going away.
import { beforeAll, describe, expect, it } from 'vitest';
import { AIModels } from '../../src/controllers/aimodel/setup.ts';
import { CoreEvents, Deployments, PersistentVolumeClaims, Services } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { keyFor } from '../../src/runtime/informer.ts';
import type { TestCluster } from '../support/cluster.ts';
import { operatorInNewNamespace } from '../support/operator.ts';
import type { TestOperator } from '../support/operator.ts';
import { waitForList, waitForObject } from '../support/wait.ts';

type Condition = { type: string; status: string; reason: string; message: string };
type Model = KubeObject & { spec: Record<string, unknown>; status?: { observedGeneration?: number; conditions?: Condition[] } };
type Obj = KubeObject & { spec?: any; status?: any };
type Event = Obj & { reason?: string; message?: string; type?: string };

let cluster: TestCluster;
let operator: TestOperator;
let ns: string;

beforeAll(async () => {
  ({ cluster, operator, ns } = await operatorInNewNamespace());
});

const readyCondition = (m: Model | undefined) => m?.status?.conditions?.find((c) => c.type === 'Ready');
const isReady = (m: Model | undefined) => !!m && m.status?.observedGeneration === m.metadata.generation && readyCondition(m)?.status === 'True';

async function createModel(name: string, spec: Record<string, unknown> = {}): Promise<void> {
  await cluster.client.create({ apiVersion: 'ai.openai.com/v1', kind: 'AIModel', metadata: { name, namespace: ns }, spec: { model: name, replicas: 1, ...spec } });
}

const waitModel = (name: string, predicate: (m: Model | undefined) => boolean, description: string) =>
  waitForObject<Model>(cluster.client, AIModels, ns, name, predicate, { timeoutMs: 90_000, description: `AIModel ${name}: ${description}` });

const waitReason = (name: string, reason: string) => waitModel(name, (m) => readyCondition(m)?.reason === reason, `Ready reason ${reason}`);

const eventsAbout = (name: string, predicate: (events: Event[]) => boolean) =>
  waitForList<Event>(cluster.client, CoreEvents, predicate, { namespace: ns, fieldSelector: `involvedObject.name=${name}` });

/** Forces a resync of every model and waits until each was reconciled at least once more. */
async function resyncOnce(): Promise<void> {
  const before = await operator.reconciles();
  const models = (await cluster.client.list<Model>(AIModels, { namespace: ns })).items.length;
  operator.aimodel.controller.resync();
  await expect.poll(() => operator.reconciles(), { timeout: 60_000 }).toBeGreaterThanOrEqual(before + models);
  await expect.poll(() => operator.aimodel.controller.queue.len(), { timeout: 60_000 }).toBe(0);
}

describe('objects the model does not control', () => {
  it('leaves a pre-existing Service with the child name untouched, says so, and recovers once it is gone', async () => {
    const name = 'taken';
    const userService = { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { selector: { app: 'users-own' }, ports: [{ port: 9999 }] } };
    await cluster.client.create(userService);
    await createModel(name);

    const m = await waitReason(name, 'ServiceConflict');
    expect(readyCondition(m)?.message).toContain(`Service ${name} already exists and has no controller`);
    const events = await eventsAbout(name, (l) => l.some((e) => e.reason === 'ServiceConflict'));
    expect(events.find((e) => e.reason === 'ServiceConflict')?.type).toBe('Warning');
    const svc = await cluster.client.get<Obj>(Services, ns, name);
    expect(svc.spec.selector).toEqual({ app: 'users-own' });
    expect(svc.spec.ports.map((p: { port: number }) => p.port)).toEqual([9999]);
    expect(svc.metadata.ownerReferences ?? []).toEqual([]);
    expect(operator.writes().filter((w) => w.path.endsWith(`/services/${name}`))).toEqual([]);

    // Nothing the operator watches changes when the user deletes their Service: the model
    // comes back through its backoff, not the 10-hour resync.
    await cluster.client.delete(Services, ns, name);
    await waitModel(name, isReady, 'Ready after the foreign Service is gone');
    const ours = await cluster.client.get<Obj>(Services, ns, name);
    expect(ours.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'AIModel', name, controller: true });
  });
});

describe('fields other writers add', () => {
  const name = 'shared';
  let before: Obj;

  beforeAll(async () => {
    await createModel(name);
    await waitModel(name, isReady, 'Ready');
    before = await cluster.client.get<Obj>(Deployments, ns, name);
  });

  it('keeps an env var another manager added to its container (kubectl set env) without a conflict or a write', async () => {
    const writesBefore = operator.writes().length;
    const set = await cluster.kubectl(['-n', ns, 'set', 'env', `deployment/${name}`, 'EXTRA_FLAG=1']);
    expect(set.code).toBe(0);
    await resyncOnce();
    const d = await cluster.client.get<Obj>(Deployments, ns, name);
    expect(d.spec.template.spec.containers[0].env).toContainEqual({ name: 'EXTRA_FLAG', value: '1' });
    expect(operator.writes().slice(writesBefore).filter((w) => w.path.includes('/deployments/'))).toEqual([]);
    const events = (await cluster.client.list<Event>(CoreEvents, { namespace: ns, fieldSelector: `involvedObject.name=${name}` })).items;
    expect(events.filter((e) => e.reason === 'ConflictingWriter')).toEqual([]);
    expect(d.metadata.annotations?.['ai.openai.com/applied-intent']).toBe(before.metadata.annotations?.['ai.openai.com/applied-intent']);
  });

  it('puts back a value it owns that another writer replaced (the models emptyDir turned into a hostPath) and names the writer', async () => {
    const d = await cluster.client.get<Obj>(Deployments, ns, name);
    const index = d.spec.template.spec.volumes.findIndex((v: { name: string }) => v.name === 'models');
    const patched = await cluster.kubectl(['-n', ns, 'patch', `deployment/${name}`, '--type=json', `-p=[{"op":"replace","path":"/spec/template/spec/volumes/${index}","value":{"name":"models","hostPath":{"path":"/var/lib/stolen"}}}]`]);
    expect(patched.code).toBe(0);
    const events = await eventsAbout(name, (l) => l.some((e) => e.reason === 'ConflictingWriter'));
    expect(events.find((e) => e.reason === 'ConflictingWriter')?.message).toContain('"kubectl-patch"');
    const restored = await waitForObject<Obj>(cluster.client, Deployments, ns, name, (o) => {
      const models = o?.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'models');
      return models !== undefined && models.emptyDir !== undefined && models.hostPath === undefined;
    });
    // Another manager's env var elsewhere in the pod template survives the repair.
    expect(restored?.spec.template.spec.containers[0].env).toContainEqual({ name: 'EXTRA_FLAG', value: '1' });
    await waitModel(name, isReady, 'Ready after the repair');
  });
});

describe('causes that go away', () => {
  it('starts a model waiting for its existingClaim as soon as the claim appears', async () => {
    const name = 'claimed';
    await createModel(name, { storage: { existingClaim: { claimName: 'weights' } } });
    await waitReason(name, 'StorageClaimNotFound');
    // Let the operator settle first: its cache holds the status it wrote, and no reconcile of the
    // model is queued or running that could find the claim by chance.
    const controller = operator.aimodel.controller;
    await expect
      .poll(() => {
        const cached = operator.aimodel.caches.models.get(ns, name) as Model | undefined;
        return readyCondition(cached)?.reason === 'StorageClaimNotFound' && controller.queue.len() === 0 && !controller.queue.isProcessing(keyFor(ns, name));
      }, { timeout: 30_000 })
      .toBe(true);
    const reconciled = await operator.reconciles();
    await cluster.client.create({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'weights', namespace: ns },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: 'none' },
    });
    // The claim stays Pending (no provisioner for class "none"): what matters is that the model
    // stops waiting for the claim and creates its Deployment.
    await waitModel(name, (m) => readyCondition(m)?.reason !== 'StorageClaimNotFound', 'no longer waiting for the claim');
    const d = await waitForObject<Obj>(cluster.client, Deployments, ns, name, (o) => o !== undefined);
    expect(d?.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'models').persistentVolumeClaim.claimName).toBe('weights');
    expect(await cluster.client.find(PersistentVolumeClaims, ns, 'weights')).toBeDefined();
    expect(await operator.reconciles()).toBeGreaterThan(reconciled);
  });

  it('waits the same way for the claim a pvc:// source names, and mounts its sub-path', async () => {
    const name = 'sourced';
    await createModel(name, { source: { uri: 'pvc://shelf/llama/8b' } });
    const waiting = await waitReason(name, 'StorageClaimNotFound');
    expect(readyCondition(waiting)?.message).toContain('spec.source.uri: PersistentVolumeClaim "shelf" does not exist');
    await cluster.client.create({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'shelf', namespace: ns },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    const d = await waitForObject<Obj>(cluster.client, Deployments, ns, name, (o) => o !== undefined);
    expect(d?.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'models').persistentVolumeClaim.claimName).toBe('shelf');
    expect(d?.spec.template.spec.containers[0].volumeMounts).toContainEqual(expect.objectContaining({ name: 'models', subPath: 'llama/8b' }));
  });

  it('retries a child the API server refused until the admission policy refusing it is gone', async () => {
    const name = 'gated';
    const policy = `policy-${ns}`;
    const applied = await cluster.kubectl(['apply', '-f', '-'], `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: ${policy}}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
  validations:
    - expression: "!has(object.metadata.labels) || !('app.kubernetes.io/instance' in object.metadata.labels) || object.metadata.labels['app.kubernetes.io/instance'] != '${name}'"
      message: "deployments of ${name} are not allowed yet"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: ${policy}}
spec:
  policyName: ${policy}
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels: {kubernetes.io/metadata.name: ${ns}}
`);
    expect(applied.stderr).toBe('');
    // Policies load asynchronously: wait until a dry run of such a Deployment is refused.
    const probe = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'probe', namespace: ns, labels: { 'app.kubernetes.io/instance': name } }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } };
    await expect.poll(async () => cluster.client.create(probe, { dryRun: true }).then(() => 'admitted', (err: Error) => err.message), { timeout: 30_000 }).toContain('not allowed yet');

    await createModel(name);
    const m = await waitReason(name, 'DeploymentRefused');
    expect(readyCondition(m)?.message).toContain('not allowed yet');

    for (const kind of ['validatingadmissionpolicybinding', 'validatingadmissionpolicy']) expect((await cluster.kubectl(['delete', kind, policy])).code).toBe(0);
    await waitModel(name, isReady, 'Ready once the policy is gone');
  });
});
