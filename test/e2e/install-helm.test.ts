// Issue 6, installed the way users do: helm install and helm upgrade into the local cluster, the
// operator run outside the cluster under the chart's ServiceAccount (a TokenRequest token) with
// the chart's own flags, reconciling the seed and every sample in config/samples/ to the status it
// intends, with Secrets out of its reach; then helm uninstall, which keeps the CRD.
//
// The CRD is cluster-scoped and shared with every other test file: the chart's copy must equal
// crds/ (checked first, or nothing is installed), so installing it changes no spec; the release
// adopts it (--take-ownership) and its metadata is restored afterwards. The release watches only
// this file's namespaces (watchNamespaces), so its identity and Roles reach nothing else.
// kwok runs no containers, so the chart's in-cluster replicas never run the operator; the upgrade
// scales them to 0 and the operator runs in this process instead.
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.ts';
import { AIModels } from '../../src/controllers/aimodel/setup.ts';
import { childName } from '../../src/desired/names.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { ApiError } from '../../src/kube/errors.ts';
import {
  ClusterRoleBindings,
  ClusterRoles,
  CustomResourceDefinitions,
  Deployments,
  HorizontalPodAutoscalers,
  Leases,
  PersistentVolumeClaims,
  PodDisruptionBudgets,
  Pods,
  RoleBindings,
  Roles,
  Secrets,
  ServiceAccounts,
  Services,
} from '../../src/kube/resources.ts';
import type { ResourceType } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { startOperator } from '../../src/operator.ts';
import type { RunningOperator } from '../../src/operator.ts';
import { useTestCluster } from '../support/cluster.ts';
import type { TestCluster } from '../support/cluster.ts';
import { chartDir, helm, onLoopback, operatorArgs, ownNamespaces, repoRoot, run, samplesDir, seedFile, serviceAccountKubeConfig } from '../support/install.ts';
import type { ServiceAccountIdentity } from '../support/install.ts';
import { waitForList, waitForObject } from '../support/wait.ts';

type Condition = { type: string; status: string; reason?: string; message?: string };
type Model = KubeObject & { spec: { suspend?: boolean; replicas?: number }; status?: { phase?: string; observedGeneration?: number; conditions?: Condition[]; readyReplicas?: number; desiredReplicas?: number } };
type Obj = KubeObject & { spec?: any; status?: any };
type Crd = KubeObject & { status?: { conditions?: Condition[] } };

const restricted = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/warn': 'restricted',
};
const CRD = 'aimodels.ai.openai.com';
const UPGRADED_VERSION = '0.1.1-e2e';

let cluster: TestCluster;
let releaseNs: string;
let seedNs: string;
let samplesNs: string;
/** The names of the samples applied, which helm uninstall must leave in place. */
let appliedSamples: string[] = [];
const release = `aimop-${randomBytes(3).toString('hex')}`;
const fullname = `${release}-aimodel-operator`;
const selector = `app.kubernetes.io/instance=${release}`;
let crdBefore: Crd;
let installed = false;
let upgradedChart: string | undefined;
let identity: ServiceAccountIdentity | undefined;
let saClient: KubeClient | undefined;
let operator: RunningOperator | undefined;
const namespaces = ownNamespaces('install-helm');

beforeAll(async () => {
  cluster = await useTestCluster();
  // Installing a chart whose CRD differs from crds/ would change the CRD under every other test.
  const sync = await run('bash', [join(repoRoot, 'hack', 'sync-chart.sh'), '--check']);
  if (sync.code !== 0) throw new Error(`the chart's CRD is stale, refusing to install it into the shared cluster:\n${sync.stderr}`);
  releaseNs = await namespaces.create(cluster, restricted);
  seedNs = await namespaces.create(cluster);
  // The samples must run where the restricted Pod Security Standard is enforced.
  samplesNs = await namespaces.create(cluster, restricted);
  crdBefore = await cluster.client.get<Crd>(CustomResourceDefinitions, undefined, CRD);
});

afterAll(async () => {
  await operator?.stop().catch(() => {});
  await saClient?.close().catch(() => {});
  await identity?.dispose();
  if (installed) await helm(cluster, ['uninstall', release, '-n', releaseNs, '--wait']);
  await restoreCrdMetadata();
  if (upgradedChart) await rm(upgradedChart, { recursive: true, force: true });
  // Also frees the samples' GPUs for the other test files.
  await namespaces.deleteAll();
});

/** Gives the shared CRD back its labels and annotations from before the install, if our release still owns it. */
async function restoreCrdMetadata(): Promise<void> {
  const escape = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');
  await cluster.client
    .patch(
      CustomResourceDefinitions,
      undefined,
      CRD,
      [
        { op: 'test', path: `/metadata/annotations/${escape('meta.helm.sh/release-name')}`, value: release },
        { op: 'add', path: '/metadata/labels', value: crdBefore.metadata.labels ?? {} },
        { op: 'add', path: '/metadata/annotations', value: crdBefore.metadata.annotations ?? {} },
      ],
      { kind: 'json' },
    )
    .catch(() => undefined);
}

const isReady = (m: Model | undefined) =>
  !!m && m.status?.observedGeneration === m.metadata.generation && m.status?.phase === 'Ready' && !!m.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
const isSuspended = (m: Model | undefined) =>
  !!m && m.status?.observedGeneration === m.metadata.generation && m.status?.phase === 'Suspended' && !!m.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'False' && c.reason === 'Suspended');

async function expectForbidden(what: string, call: () => Promise<unknown>): Promise<void> {
  const err = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `${what} was allowed`).toBeInstanceOf(ApiError);
  expect((err as ApiError).status, `${what}: ${(err as Error).message}`).toBe(403);
}

describe('helm install', () => {
  it('installs into a fresh namespace, adopting the existing CRD without changing its spec', async () => {
    const result = await helm(cluster, [
      'install', release, chartDir, '--namespace', releaseNs,
      '--set', `watchNamespaces={${seedNs},${samplesNs}}`,
      // The CRD exists already (the test setup applied crds/), as it does for users who applied
      // crds/ or config/ first: Helm adopts it instead of refusing.
      '--take-ownership',
      '--wait', '--timeout', '3m',
    ]);
    installed = result.code === 0;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`It watches AIModels only in: ${seedNs}, ${samplesNs}.`);
    const status = JSON.parse((await helm(cluster, ['status', release, '-n', releaseNs, '-o', 'json'])).stdout) as { version: number; info: { status: string } };
    expect(status).toMatchObject({ version: 1, info: { status: 'deployed' } });

    const sa = await cluster.client.get<Obj>(ServiceAccounts, releaseNs, fullname);
    expect((sa as { automountServiceAccountToken?: boolean }).automountServiceAccountToken).toBe(false);
    expect(await cluster.client.find(Services, releaseNs, `${fullname}-metrics`)).toBeDefined();
    expect(await cluster.client.find(PodDisruptionBudgets, releaseNs, fullname)).toBeDefined();
    expect(await cluster.client.find(Roles, releaseNs, `${fullname}-leader-election`)).toBeDefined();
    for (const ns of [seedNs, samplesNs]) {
      expect(await cluster.client.find(Roles, ns, fullname), `Role in ${ns}`).toBeDefined();
      expect(await cluster.client.find(RoleBindings, ns, fullname), `RoleBinding in ${ns}`).toBeDefined();
    }
    // Namespaced mode: nothing cluster-wide grants the operator anything.
    expect(await cluster.client.find(ClusterRoles, undefined, fullname)).toBeUndefined();
    expect(await cluster.client.find(ClusterRoleBindings, undefined, fullname)).toBeUndefined();
    expect(await cluster.client.find(ClusterRoles, undefined, `${fullname}-aimodels-editor`)).toBeDefined();

    // Two replicas, admitted by Pod Security "restricted" (the release namespace enforces it) and
    // Ready on kwok nodes; kwok runs no container, so they hold no Lease.
    const deployment = await cluster.client.get<Obj>(Deployments, releaseNs, fullname);
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.status.availableReplicas).toBe(2);
    const pods = await cluster.client.listAll<Obj>(Pods, { namespace: releaseNs, labelSelector: selector });
    expect(pods).toHaveLength(2);
    for (const pod of pods) expect(pod.spec.nodeName).toMatch(/^kwok-/);

    const crd = await cluster.client.get<Crd>(CustomResourceDefinitions, undefined, CRD);
    expect(crd.metadata.uid).toBe(crdBefore.metadata.uid);
    expect(crd.metadata.generation, 'the install changed the CRD spec').toBe(crdBefore.metadata.generation);
    expect(crd.metadata.annotations).toMatchObject({ 'helm.sh/resource-policy': 'keep', 'meta.helm.sh/release-name': release, 'meta.helm.sh/release-namespace': releaseNs });
    expect(crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')).toBe(true);
  });
});

describe('helm upgrade', () => {
  it('upgrades to a new chart version with changed values, and upgrades the CRD with it', async () => {
    // A new chart version, as users receive one; its CRD carries the new chart label, which shows
    // that the CRD is upgraded with the release (Helm never upgrades a chart's crds/ directory).
    upgradedChart = await mkdtemp(join(tmpdir(), 'aimodel-chart-'));
    const chart = join(upgradedChart, 'aimodel-operator');
    await cp(chartDir, chart, { recursive: true });
    const chartYaml = await readFile(join(chart, 'Chart.yaml'), 'utf8');
    expect(chartYaml).toMatch(/^version: /m);
    await writeFile(join(chart, 'Chart.yaml'), chartYaml.replace(/^version: .*$/m, `version: ${UPGRADED_VERSION}`));

    const result = await helm(cluster, [
      'upgrade', release, chart, '--namespace', releaseNs, '--reuse-values',
      // kwok's replicas run nothing; the operator runs outside the cluster below.
      '--set', 'replicaCount=0',
      '--set', 'operator.logLevel=debug',
      '--wait', '--timeout', '3m',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const status = JSON.parse((await helm(cluster, ['status', release, '-n', releaseNs, '-o', 'json'])).stdout) as { version: number; info: { status: string } };
    expect(status).toMatchObject({ version: 2, info: { status: 'deployed' } });

    const deployment = await cluster.client.get<Obj>(Deployments, releaseNs, fullname);
    expect(deployment.spec.replicas).toBe(0);
    expect(deployment.metadata.labels?.['helm.sh/chart']).toBe(`aimodel-operator-${UPGRADED_VERSION}`);
    expect(operatorArgs(deployment)).toContain('--log-level=debug');
    expect(operatorArgs(deployment)).toContain(`--namespaces=${seedNs},${samplesNs}`);
    await waitForList(cluster.client, Pods, (pods) => pods.length === 0, { namespace: releaseNs, labelSelector: selector, description: 'the chart pods to go' });
    // One replica needs no PodDisruptionBudget: the upgrade removed it.
    expect(await cluster.client.find(PodDisruptionBudgets, releaseNs, fullname)).toBeUndefined();

    const crd = await cluster.client.get<Crd>(CustomResourceDefinitions, undefined, CRD);
    expect(crd.metadata.uid).toBe(crdBefore.metadata.uid);
    expect(crd.metadata.labels?.['helm.sh/chart']).toBe(`aimodel-operator-${UPGRADED_VERSION}`);
    expect(crd.metadata.generation, 'the upgrade changed the CRD spec').toBe(crdBefore.metadata.generation);
    expect(crd.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
  });
});

describe("the operator outside the cluster, under the chart's ServiceAccount", () => {
  let leaseName = '';

  beforeAll(async () => {
    expect(installed, 'helm install failed').toBe(true);
    identity = await serviceAccountKubeConfig(cluster, releaseNs, fullname);
    saClient = await KubeClient.fromKubeConfig(identity.kubeConfig, { userAgent: 'aimodel-tests-sa' });
    // The chart's own flags, from the live Deployment, listening on free loopback ports.
    const deployment = await cluster.client.get<Obj>(Deployments, releaseNs, fullname);
    const args = onLoopback(operatorArgs(deployment), { metrics: 0, health: 0 });
    expect(args).toEqual(expect.arrayContaining(['--leader-elect=true', `--leader-elect-namespace=${releaseNs}`, `--namespaces=${seedNs},${samplesNs}`]));
    leaseName = args.find((a) => a.startsWith('--leader-elect-id='))!.split('=')[1]!;
    operator = await startOperator(parseConfig(args, {}), identity.kubeConfig, pino({ level: process.env.TEST_LOG_LEVEL ?? 'warn' }));
  });

  /** Requests the operator made that the API server refused with 403, by method. */
  async function forbiddenRequests(): Promise<Record<string, number>> {
    const metric = await operator!.metrics.registry.getSingleMetric('rest_client_requests_total')?.get();
    const out: Record<string, number> = {};
    for (const v of metric?.values ?? []) if (String(v.labels.code) === '403') out[String(v.labels.method)] = (out[String(v.labels.method)] ?? 0) + v.value;
    return out;
  }

  it('authenticates as the ServiceAccount, not as the admin', async () => {
    const review = await saClient!.request<{ status: { userInfo: { username: string } } }>({
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    expect(review.status.userInfo.username).toBe(`system:serviceaccount:${releaseNs}:${fullname}`);
  });

  it('reconciles the seed AIModel to Ready end to end, holding the Lease, with no request refused', async () => {
    const applied = await cluster.kubectl(['apply', '-n', seedNs, '-f', seedFile]);
    expect(applied.code, applied.stderr).toBe(0);
    const model = (await waitForObject<Model>(cluster.client, AIModels, seedNs, 'gpt-4o-agent', isReady, { timeoutMs: 120_000, description: 'the seed Ready' }))!;
    expect(model.status).toMatchObject({ readyReplicas: 5, desiredReplicas: 5 });
    for (const type of [Deployments, Services, HorizontalPodAutoscalers, PodDisruptionBudgets]) {
      const child = await cluster.client.get<Obj>(type, seedNs, 'gpt-4o-agent');
      expect(child.metadata.ownerReferences?.some((r) => r.controller && r.uid === model.metadata.uid), type.kind).toBe(true);
    }
    const lease = await cluster.client.get<Obj>(Leases, releaseNs, leaseName);
    expect(lease.spec.holderIdentity).toBe(operator!.identity);
    // Every list, watch, apply, status update, Event and Lease call was allowed by the chart's RBAC.
    expect(await forbiddenRequests()).toEqual({});
  });

  it('is denied Secrets, and everything outside its watched namespaces', async () => {
    await cluster.client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'not-for-the-operator', namespace: seedNs }, stringData: { token: 'x' } });
    await expectForbidden('get a Secret in a watched namespace', () => saClient!.get(Secrets, seedNs, 'not-for-the-operator'));
    await expectForbidden('list Secrets in a watched namespace', () => saClient!.list(Secrets, { namespace: seedNs }));
    await expectForbidden('list Secrets in the release namespace', () => saClient!.list(Secrets, { namespace: releaseNs }));
    await expectForbidden('list Secrets cluster-wide', () => saClient!.list(Secrets));
    await expectForbidden('list AIModels cluster-wide', () => saClient!.list(AIModels));
    await expectForbidden('list AIModels in an unwatched namespace', () => saClient!.list(AIModels, { namespace: releaseNs }));
    await expectForbidden('create a Deployment in an unwatched namespace', () =>
      saClient!.create({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x', namespace: releaseNs }, spec: {} }, { dryRun: true }),
    );
    // The same identity may read what it manages.
    expect((await saClient!.list(AIModels, { namespace: seedNs })).items.map((m) => m.metadata.name)).toEqual(['gpt-4o-agent']);
  });

  it('brings every sample in config/samples/ to the status it intends (kubectl apply -f config/samples/)', async () => {
    const files = (await readdir(samplesDir)).filter((f) => f.endsWith('.yaml')).sort();
    const samples = (await Promise.all(files.map(async (f) => loadAll(await readFile(join(samplesDir, f), 'utf8')) as Model[]))).flat();
    appliedSamples = samples.map((s) => s.metadata.name).sort();
    expect(appliedSamples).toEqual([
      'gpt-4o-agent',
      'gpt-4o-agent-nightly',
      'llama-3-1-8b-nim',
      'llama-3-1-8b-vllm',
      'llama-3-2-1b-llamacpp',
      'llama-3-2-1b-ollama',
      'llama-3-2-1b-scale-to-zero',
      'llama-3-8b',
      'mistral-7b-tgi',
      'qwen-2-5-14b-trtllm',
      'qwen-2-5-7b-sglang',
      'qwen-chat',
    ]);

    // What a user provides for the GPU sample: the Secret it reads HF_TOKEN from. Its weights
    // claim is provisioned by the cluster's default StorageClass, as on any managed cluster.
    const gpu = samples.find((s) => (s.spec as { storage?: { volumeClaim?: unknown } }).storage?.volumeClaim)!;
    const claimName = childName(gpu, 'PersistentVolumeClaim');
    await cluster.client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'huggingface', namespace: samplesNs }, stringData: { token: 'hf_e2e' } });

    // Admitted as they are, pods included, where restricted is enforced: first a server dry run.
    const dryRun = await cluster.kubectl(['apply', '--dry-run=server', '-n', samplesNs, '-f', samplesDir]);
    expect(dryRun.code, dryRun.stderr).toBe(0);
    const applied = await cluster.kubectl(['apply', '-n', samplesNs, '-f', samplesDir]);
    expect(applied.code, applied.stderr).toBe(0);
    await Promise.all(
      samples.map(async (s) => {
        const intended = s.spec.suspend ? 'Suspended' : 'Ready';
        const m = await waitForObject<Model>(cluster.client, AIModels, samplesNs, s.metadata.name, intended === 'Suspended' ? isSuspended : isReady, {
          timeoutMs: 150_000,
          description: `sample ${s.metadata.name} ${intended}`,
        });
        expect(m?.status?.phase).toBe(intended);
      }),
    );

    // The GPU model runs on a GPU node with its weights claim bound.
    const pvc = await cluster.client.get<Obj>(PersistentVolumeClaims, samplesNs, claimName);
    expect(pvc.status.phase).toBe('Bound');
    expect(pvc.spec.volumeName).toMatch(/^pvc-/);
    const gpuDeployment = await cluster.client.get<Obj>(Deployments, samplesNs, gpu.metadata.name);
    const gpuSelector = Object.entries(gpuDeployment.spec.selector.matchLabels as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',');
    const gpuPods = await cluster.client.listAll<Obj>(Pods, { namespace: samplesNs, labelSelector: gpuSelector });
    expect(gpuPods.length).toBeGreaterThan(0);
    for (const pod of gpuPods) expect(pod.spec.nodeName).toMatch(/^kwok-gpu-/);
    // The suspended model keeps its Deployment at 0 replicas.
    const suspended = samples.find((s) => s.spec.suspend)!;
    expect((await cluster.client.get<Obj>(Deployments, samplesNs, suspended.metadata.name)).spec.replicas).toBe(0);
    expect(await forbiddenRequests()).toEqual({});
  });
});

describe('helm uninstall', () => {
  it('removes the release but keeps the CRD and with it every AIModel', async () => {
    // The operator loses its RBAC with the release: stop it first, as its Deployment would go.
    await operator?.stop();
    operator = undefined;
    const result = await helm(cluster, ['uninstall', release, '--namespace', releaseNs, '--wait']);
    expect(result.code, result.stderr).toBe(0);
    installed = false;
    expect(result.stdout).toMatch(/kept due to the resource policy[\s\S]*CustomResourceDefinition.*aimodels\.ai\.openai\.com/);
    expect(await cluster.client.find(Deployments, releaseNs, fullname)).toBeUndefined();
    expect(await cluster.client.find(ServiceAccounts, releaseNs, fullname)).toBeUndefined();
    expect(await cluster.client.find(Roles, seedNs, fullname)).toBeUndefined();
    expect(await cluster.client.find(ClusterRoles, undefined, `${fullname}-aimodels-editor`)).toBeUndefined();
    const crd = await cluster.client.get<Crd>(CustomResourceDefinitions, undefined, CRD);
    expect(crd.metadata.uid).toBe(crdBefore.metadata.uid);
    expect(crd.metadata.deletionTimestamp).toBeUndefined();
    expect((await cluster.client.list(AIModels, { namespace: seedNs })).items).toHaveLength(1);
    const sampleNames = (await cluster.client.list(AIModels, { namespace: samplesNs })).items.map((m) => m.metadata.name).sort();
    expect(sampleNames).toEqual(appliedSamples);
  });
});
