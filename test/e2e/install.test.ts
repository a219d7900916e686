// Issue 6, the install artefacts checked against the real control plane without installing
// anything: helm lint, helm template with the default values and every ci/ values file applied
// with server-side dry-run (admission, schemas, strict field validation, Pod Security), the
// drift checks between crds/, deploy/, the chart and config/, and kustomize's config/default.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.ts';
import { CustomResourceDefinitions } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { useTestCluster } from '../support/cluster.ts';
import type { TestCluster } from '../support/cluster.ts';
import { chartDir, ciValuesFiles, envWithTools, helm, operatorArgs, ownNamespaces, parseManifests, repoRoot, run } from '../support/install.ts';
import type { Manifest } from '../support/install.ts';
import { monitoringApiVersions, monitoringStubCrds } from '../support/monitoring-crds.ts';
import { waitForObject } from '../support/wait.ts';

const restricted = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/warn': 'restricted',
};

type Rule = { apiGroups?: string[]; resources?: string[]; verbs?: string[]; resourceNames?: string[] };
type Crd = KubeObject & { status?: { conditions?: { type: string; status: string }[] } };

let cluster: TestCluster;
let releaseNs: string;
let watched: string[];
const stubLabel = `install-${randomBytes(4).toString('hex')}`;
const createdStubs: string[] = [];
const namespaces = ownNamespaces('install');

beforeAll(async () => {
  cluster = await useTestCluster();
  releaseNs = await namespaces.create(cluster, restricted);
  watched = [await namespaces.create(cluster), await namespaces.create(cluster)];
  // The Prometheus Operator API for the monitoring values: stub CRDs, unless the cluster has the
  // real ones (or another run's stubs), which are then used and left alone.
  for (const stub of monitoringStubCrds(stubLabel) as Manifest[]) {
    if (await cluster.client.find(CustomResourceDefinitions, undefined, stub.metadata.name)) continue;
    await cluster.client.create(stub);
    createdStubs.push(stub.metadata.name);
  }
  for (const stub of monitoringStubCrds(stubLabel) as Manifest[]) {
    await waitForObject<Crd>(cluster.client, CustomResourceDefinitions, undefined, stub.metadata.name, (c) =>
      !!c?.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True'),
    );
  }
});

afterAll(async () => {
  for (const name of createdStubs) {
    const crd = await cluster.client.find(CustomResourceDefinitions, undefined, name);
    if (crd?.metadata.labels?.['aimodel-operator.test/stub'] === stubLabel) await cluster.client.delete(CustomResourceDefinitions, undefined, name);
  }
  await namespaces.deleteAll();
});

// Every ci/ values file, read when the tests are collected, so a new file is linted at once.
const ciFiles = await ciValuesFiles();
/** The ci/ files the dry-run cases below handle; a new file needs a case of its own. */
const dryRunCases = ['default-values.yaml', 'keda-values.yaml', 'monitoring-values.yaml', 'namespaced-values.yaml', 'no-crds-values.yaml', 'secure-metrics-values.yaml'];

describe('helm lint', () => {
  it.each([{ name: 'default values', path: undefined }, ...ciFiles.map((path) => ({ name: `ci/${basename(path)}`, path }))])('passes --strict with $name', async ({ path }) => {
    const result = await helm(cluster, ['lint', '--strict', chartDir, ...(path ? ['-f', path] : [])]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
  });

  it('every ci/ values file has a server-side dry-run case below', () => {
    expect(ciFiles.map((f) => basename(f))).toEqual(dryRunCases);
  });

  it('fails on values the schema refuses (unknown key, wrong type, bad namespace name)', async () => {
    for (const bad of ['notAValue=1', 'replicaCount=two', 'watchNamespaces[0]=Not_A_Namespace']) {
      const result = await helm(cluster, ['lint', '--strict', chartDir, '--set', bad]);
      expect(result.code, `${bad} was accepted`).not.toBe(0);
    }
  });
});

/** helm template into the test's release namespace; the release name is unique per call. */
async function template(file: string | undefined, extra: string[] = []): Promise<Manifest[]> {
  const release = `tpl-${randomBytes(3).toString('hex')}`;
  const result = await helm(cluster, ['template', release, chartDir, '--namespace', releaseNs, ...(file ? ['-f', file] : []), ...extra]);
  expect(result.code, result.stderr).toBe(0);
  return parseManifests(result.stdout);
}

/** Server-side apply, dry-run: everything the API server checks, nothing persisted. */
async function dryRun(objects: Manifest[]): Promise<void> {
  const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects });
  const result = await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=install-test', '--dry-run=server', '-f', '-'], list);
  expect(result.code, result.stderr).toBe(0);
  // Pod Security ("would violate PodSecurity"), deprecated APIs and unknown fields show up as warnings.
  expect(result.stderr).not.toMatch(/warning/i);
  expect(result.stdout.trim().split('\n').filter((l) => l.endsWith('(server dry run)'))).toHaveLength(objects.length);
}

function kinds(objects: Manifest[]): string[] {
  return objects.map((o) => o.kind).sort();
}

function byKind(objects: Manifest[], kind: string): Manifest[] {
  return objects.filter((o) => o.kind === kind);
}

/** Least privilege, as the issue asks: no wildcards, no Secrets, in any (Cluster)Role. */
function expectLeastPrivilege(objects: Manifest[]): void {
  for (const role of objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')) {
    for (const rule of (role as { rules?: Rule[] }).rules ?? []) {
      const where = `${role.kind} ${role.metadata.name}: ${JSON.stringify(rule)}`;
      for (const field of [rule.apiGroups, rule.resources, rule.verbs, rule.resourceNames]) expect(field ?? [], where).not.toContain('*');
      expect(rule.resources ?? [], where).not.toContain('secrets');
    }
  }
}

/** The operator Deployment: hardened for Pod Security "restricted", probes on the health port. */
function expectHardenedDeployment(objects: Manifest[]): Manifest {
  const [deployment] = byKind(objects, 'Deployment');
  expect(deployment).toBeDefined();
  const pod = (deployment!.spec as { template: { spec: any } }).template.spec;
  expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  const manager = pod.containers.find((c: { name: string }) => c.name === 'manager');
  expect(manager.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
  expect(manager.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'health' });
  expect(manager.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'health' });
  expect(manager.resources.requests).toBeDefined();
  expect(pod.topologySpreadConstraints?.[0]?.topologyKey).toBe('kubernetes.io/hostname');
  return deployment!;
}

describe('helm template, applied with kubectl apply --server-side --dry-run=server', () => {
  it('default values: CRD (kept on uninstall), cluster-wide RBAC, 2 replicas with leader election, PDB', async () => {
    const objects = await template(undefined);
    expect(kinds(objects)).toEqual(
      ['ClusterRole', 'ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'Deployment', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'ServiceAccount'].sort(),
    );
    const [crd] = byKind(objects, 'CustomResourceDefinition');
    expect(crd!.metadata.name).toBe('aimodels.ai.openai.com');
    expect(crd!.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    const deployment = expectHardenedDeployment(objects);
    expect((deployment.spec as { replicas: number }).replicas).toBe(2);
    const args = operatorArgs(deployment);
    expect(args).toContain('--leader-elect=true');
    expect(args).toContain(`--leader-elect-namespace=${releaseNs}`);
    expect(args.some((a) => a.startsWith('--namespaces='))).toBe(false);
    // Plain metrics by default, as before secure metrics existed.
    expect(args.some((a) => a.startsWith('--metrics-secure') || a.startsWith('--metrics-cert-path'))).toBe(false);
    // The leader-election Role is in the release namespace and names its Lease.
    const [leaderRole] = byKind(objects, 'Role');
    expect(leaderRole!.metadata.namespace).toBe(releaseNs);
    expect(JSON.stringify(leaderRole)).toContain('aimodel-operator-leader');
    expectLeastPrivilege(objects);
    await dryRun(objects);
  });

  it('ci/default-values.yaml', async () => {
    const [file] = (await ciValuesFiles()).filter((f) => basename(f) === 'default-values.yaml');
    const objects = await template(file);
    expectHardenedDeployment(objects);
    expectLeastPrivilege(objects);
    await dryRun(objects);
  });

  it('ci/keda-values.yaml: KEDA on, the operator may manage ScaledObjects (cluster-wide or per watched namespace) and passes the API server', async () => {
    const [file] = (await ciValuesFiles()).filter((f) => basename(f) === 'keda-values.yaml');
    const kedaRule = { apiGroups: ['keda.sh'], resources: ['scaledobjects'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] };
    const rulesOf = (role: Manifest) => (role as { rules?: Rule[] }).rules ?? [];
    const objects = await template(file);
    const args = operatorArgs(expectHardenedDeployment(objects));
    expect(parseConfig(args, {})).toMatchObject({
      scaledObjects: 'true',
      prometheusAddress: 'http://prometheus-operated.monitoring.svc:9090',
      kedaPollingInterval: 10_000,
      kedaCooldownPeriod: 120_000,
    });
    const operatorRole = byKind(objects, 'ClusterRole').find((r) => rulesOf(r).some((rule) => rule.resources?.includes('aimodels') && rule.verbs?.includes('watch') && !r.metadata.name.endsWith('-viewer')));
    expect(operatorRole, 'the operator ClusterRole').toBeDefined();
    expect(rulesOf(operatorRole!)).toContainEqual(kedaRule);
    expectLeastPrivilege(objects);
    await dryRun(objects);

    // Watching some namespaces: the grant is in each namespace's Role, not cluster-wide.
    const namespaced = await template(file, ['--set', `watchNamespaces={${watched.join(',')}}`]);
    for (const ns of watched) {
      const role = byKind(namespaced, 'Role').find((r) => r.metadata.namespace === ns && rulesOf(r).some((rule) => rule.resources?.includes('aimodels')));
      expect(role && rulesOf(role), `the Role in ${ns}`).toContainEqual(kedaRule);
    }
    expect(byKind(namespaced, 'ClusterRole').some((r) => rulesOf(r).some((rule) => rule.apiGroups?.includes('keda.sh')))).toBe(false);
    expectLeastPrivilege(namespaced);
    await dryRun(namespaced);

    // Off: no grant on ScaledObjects anywhere (RBAC grows only by what is used).
    const off = await template(file, ['--set-string', 'operator.scaledObjects=false']);
    expect(operatorArgs(byKind(off, 'Deployment')[0]!)).toContain('--scaled-objects=false');
    expect(JSON.stringify([...byKind(off, 'ClusterRole'), ...byKind(off, 'Role')])).not.toContain('keda.sh');
  });

  it('ci/monitoring-values.yaml: ServiceMonitor, PrometheusRule, dashboard ConfigMap and NetworkPolicy pass the API server', async () => {
    const [file] = (await ciValuesFiles()).filter((f) => basename(f) === 'monitoring-values.yaml');
    const objects = await template(file, monitoringApiVersions.flatMap((v) => ['--api-versions', v]));
    for (const kind of ['ServiceMonitor', 'PrometheusRule', 'ConfigMap', 'NetworkPolicy']) expect(byKind(objects, kind), kind).toHaveLength(1);
    const [monitor] = byKind(objects, 'ServiceMonitor');
    expect(monitor!.metadata.labels?.release).toBe('kube-prometheus-stack');
    const endpoints = (monitor!.spec as { endpoints: { port: string; honorLabels: boolean }[] }).endpoints;
    expect(endpoints).toEqual([expect.objectContaining({ port: 'metrics', scheme: 'http', honorLabels: true })]);
    // The ServiceMonitor selects the metrics Service, whose port is named as the endpoint says.
    const service = byKind(objects, 'Service').find((s) => s.metadata.name.endsWith('-metrics'))!;
    const selector = (monitor!.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
    expect(service.metadata.labels).toMatchObject(selector);
    expect((service.spec as { ports: { name: string }[] }).ports.map((p) => p.name)).toContain('metrics');
    const [rule] = byKind(objects, 'PrometheusRule');
    const alerts = (rule!.spec as { groups: { rules: { alert?: string; for?: string }[] }[] }).groups.flatMap((g) => g.rules);
    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts.find((a) => a.alert === 'AIModelNotReady')?.for).toBe('20m');
    const [dashboard] = byKind(objects, 'ConfigMap');
    expect(dashboard!.metadata.labels?.grafana_dashboard).toBe('1');
    expect(() => JSON.parse(Object.values((dashboard as unknown as { data: Record<string, string> }).data)[0]!)).not.toThrow();
    expectHardenedDeployment(objects);
    expectLeastPrivilege(objects);
    await dryRun(objects);

    // Without the Prometheus Operator API the chart leaves both objects out instead of failing.
    const without = await template(file);
    expect(byKind(without, 'ServiceMonitor')).toHaveLength(0);
    expect(byKind(without, 'PrometheusRule')).toHaveLength(0);
  });

  it('ci/namespaced-values.yaml (namespaces pointed at the test namespaces): a Role per watched namespace, no cluster-wide grant', async () => {
    const [file] = (await ciValuesFiles()).filter((f) => basename(f) === 'namespaced-values.yaml');
    // The file watches namespaces "a" and "b"; the dry-run needs namespaces that exist.
    const objects = await template(file, ['--set', `watchNamespaces={${watched.join(',')}}`]);
    const [deployment] = byKind(objects, 'Deployment');
    expect(operatorArgs(deployment!)).toContain(`--namespaces=${watched.join(',')}`);
    const roles = byKind(objects, 'Role');
    for (const ns of watched) {
      expect(roles.some((r) => r.metadata.namespace === ns && JSON.stringify(r).includes('aimodels'))).toBe(true);
      expect(byKind(objects, 'RoleBinding').some((b) => b.metadata.namespace === ns)).toBe(true);
    }
    // Only the aggregated editor/viewer ClusterRoles remain cluster-wide, and they are not bound.
    expect(byKind(objects, 'ClusterRoleBinding')).toHaveLength(0);
    expect(byKind(objects, 'ClusterRole').map((r) => r.metadata.name.replace(/^tpl-[0-9a-f]+-aimodel-operator-/, ''))).toEqual(['aimodels-editor', 'aimodels-viewer']);
    expectLeastPrivilege(objects);
    await dryRun(objects);
  });

  it('ci/secure-metrics-values.yaml: HTTPS metrics behind TokenReview/SubjectAccessReview, a metrics-reader role, and a ServiceMonitor that scrapes with a token', async () => {
    const [file] = (await ciValuesFiles()).filter((f) => basename(f) === 'secure-metrics-values.yaml');
    const objects = await template(file, monitoringApiVersions.flatMap((v) => ['--api-versions', v]));
    const deployment = expectHardenedDeployment(objects);
    const args = operatorArgs(deployment);
    expect(args).toContain('--metrics-secure=true');
    expect(args).toContain('--metrics-cert-path=/etc/aimodel-operator/metrics-certs');
    expect(parseConfig(args, {})).toMatchObject({ metricsSecure: true, metricsCertPath: '/etc/aimodel-operator/metrics-certs', metricsCertName: 'tls.crt', metricsCertKey: 'tls.key' });
    const pod = (deployment.spec as { template: { spec: any } }).template.spec;
    expect(pod.volumes).toContainEqual({ name: 'metrics-certs', secret: { secretName: 'aimodel-operator-metrics-tls', items: [{ key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }] } });
    // No subPath: the kubelet updates a rotated Secret only in whole-directory mounts.
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'metrics-certs', mountPath: '/etc/aimodel-operator/metrics-certs', readOnly: true });

    const roles = byKind(objects, 'ClusterRole');
    const auth = roles.find((r) => r.metadata.name.endsWith('-metrics-auth'));
    expect((auth as { rules?: Rule[] }).rules).toEqual([
      { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
      { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
    ]);
    const reader = roles.find((r) => r.metadata.name.endsWith('-metrics-reader'));
    expect((reader as { rules?: unknown[] }).rules).toEqual([{ nonResourceURLs: ['/metrics'], verbs: ['get'] }]);
    const bindings = byKind(objects, 'ClusterRoleBinding');
    const authBinding = bindings.find((b) => b.metadata.name === auth!.metadata.name) as { subjects?: { name: string; namespace: string }[] } | undefined;
    const [serviceAccount] = byKind(objects, 'ServiceAccount');
    expect(authBinding?.subjects).toEqual([{ kind: 'ServiceAccount', name: serviceAccount!.metadata.name, namespace: releaseNs }]);
    const readerBinding = bindings.find((b) => b.metadata.name === reader!.metadata.name) as { subjects?: unknown[] } | undefined;
    expect(readerBinding?.subjects).toEqual([{ kind: 'ServiceAccount', name: 'kube-prometheus-stack-prometheus', namespace: 'monitoring' }]);

    const [monitor] = byKind(objects, 'ServiceMonitor');
    const service = byKind(objects, 'Service').find((s) => s.metadata.name.endsWith('-metrics'))!;
    expect((monitor!.spec as { endpoints: unknown[] }).endpoints).toEqual([
      expect.objectContaining({
        port: 'metrics',
        scheme: 'https',
        bearerTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
        tlsConfig: { serverName: `${service.metadata.name}.${releaseNs}.svc`, ca: { secret: { name: 'aimodel-operator-metrics-tls', key: 'ca.crt' } } },
      }),
    ]);
    expectLeastPrivilege(objects);
    await dryRun(objects);

    // Without a certificate Secret: a self-signed certificate, which the ServiceMonitor cannot verify.
    const selfSigned = await template(undefined, ['--set', 'metrics.secure.enabled=true', '--set', 'metrics.serviceMonitor.enabled=true', ...monitoringApiVersions.flatMap((v) => ['--api-versions', v])]);
    const selfSignedArgs = operatorArgs(byKind(selfSigned, 'Deployment')[0]!);
    expect(selfSignedArgs).toContain('--metrics-secure=true');
    expect(selfSignedArgs.some((a) => a.startsWith('--metrics-cert-path'))).toBe(false);
    expect((byKind(selfSigned, 'ServiceMonitor')[0]!.spec as { endpoints: { tlsConfig?: unknown }[] }).endpoints[0]!.tlsConfig).toEqual({ insecureSkipVerify: true });
    expect(byKind(selfSigned, 'ClusterRoleBinding').some((b) => b.metadata.name.endsWith('-metrics-reader'))).toBe(false);
    await dryRun(selfSigned);
  });

  it('ci/no-crds-values.yaml: no CRD, the rest applies against the existing one', async () => {
    const [file] = (await ciValuesFiles()).filter((f) => basename(f) === 'no-crds-values.yaml');
    const objects = await template(file);
    expect(byKind(objects, 'CustomResourceDefinition')).toHaveLength(0);
    expect(byKind(objects, 'Deployment')).toHaveLength(1);
    await dryRun(objects);
  });
});

describe('values and the operator agree', () => {
  it('values.schema.json and the chart README cover every key of values.yaml', async () => {
    type Schema = { properties?: Record<string, Schema>; additionalProperties?: unknown; type?: string | string[] };
    const schema = JSON.parse(await readFile(join(chartDir, 'values.schema.json'), 'utf8')) as Schema;
    const values = load(await readFile(join(chartDir, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    const readme = await readFile(join(chartDir, 'README.md'), 'utf8');
    expect(schema.additionalProperties).toBe(false);
    const walk = (node: Record<string, unknown>, at: Schema, path: string[]) => {
      for (const [key, value] of Object.entries(node)) {
        const here = [...path, key];
        const sub = at.properties?.[key];
        expect(sub, `values.schema.json has no ${here.join('.')}`).toBeDefined();
        if (value && typeof value === 'object' && !Array.isArray(value) && sub?.properties) {
          expect(sub.additionalProperties, `${here.join('.')} rejects unknown keys`).toBe(false);
          walk(value as Record<string, unknown>, sub, here);
        } else {
          // A value is documented in the table under its own key or an object key above it (e.g. `resources`).
          expect(here.some((_, i) => readme.includes(`| \`${here.slice(0, i + 1).join('.')}\` |`)), `README lists ${here.join('.')}`).toBe(true);
        }
      }
    };
    walk(values, schema, []);
  });

  // Whatever the chart accepts must start the operator: a value the chart renders but the
  // operator's flag parser refuses is a CrashLoopBackOff found only after installing.
  it.each([
    ['a Lease name with dots', ['leaderElection.id=aimodel.openai.com']],
    ['microsecond durations', ['leaderElection.leaseDuration=15000000us']],
    ['a renew deadline equal to the lease duration', ['leaderElection.leaseDuration=10s', 'leaderElection.renewDeadline=10s']],
    ['a retry period longer than the renew deadline', ['leaderElection.retryPeriod=12s']],
    ['a lease duration under a second', ['leaderElection.leaseDuration=900ms', 'leaderElection.renewDeadline=600ms', 'leaderElection.retryPeriod=100ms']],
    ['a zero sync period', ['operator.syncPeriod=0s']],
    ['a huge API rate', ['operator.kubeApiQps=1000000']],
    ['a huge API burst', ['operator.kubeApiBurst=1000000']],
    ['fractional and millisecond durations', ['leaderElection.leaseDuration=1.5s', 'leaderElection.renewDeadline=1s', 'leaderElection.retryPeriod=250ms', 'operator.syncPeriod=1h30m']],
    ['leader election off with one replica', ['replicaCount=1', 'leaderElection.enabled=false']],
    ['secure metrics, self-signed', ['metrics.secure.enabled=true']],
    ['secure metrics with a certificate Secret', ['metrics.secure.enabled=true', 'metrics.secure.certSecret=metrics-tls']],
    ['a certificate Secret with secure metrics off', ['metrics.secure.certSecret=metrics-tls']],
  ])('%s: the chart refuses it or the operator accepts the flags it renders', async (_title, sets) => {
    const release = `flags-${randomBytes(3).toString('hex')}`;
    const result = await helm(cluster, ['template', release, chartDir, '--namespace', releaseNs, ...sets.flatMap((s) => ['--set', s])]);
    if (result.code !== 0) {
      // Refused at install time, with a message naming the value.
      expect(result.stderr).toMatch(/values don't meet the specifications of the schema|must be (at least|shorter than)/);
      return;
    }
    const [deployment] = byKind(parseManifests(result.stdout), 'Deployment');
    expect(() => parseConfig(operatorArgs(deployment!), {})).not.toThrow();
  });

  it('the edge values the operator accepts are accepted by the chart too', async () => {
    const result = await helm(cluster, ['template', 'edge', chartDir, '--namespace', releaseNs, '--set', 'leaderElection.leaseDuration=1.5s', '--set', 'leaderElection.renewDeadline=1s', '--set', 'leaderElection.retryPeriod=250ms', '--set', 'operator.syncPeriod=1h30m', '--set', 'operator.kubeApiQps=0']);
    expect(result.code, result.stderr).toBe(0);
    const [deployment] = byKind(parseManifests(result.stdout), 'Deployment');
    const config = parseConfig(operatorArgs(deployment!), {});
    expect(config).toMatchObject({ leaseDuration: 1500, renewDeadline: 1000, retryPeriod: 250, syncPeriod: 5_400_000, kubeApiQps: 0 });
  });
});

describe('drift checks and kustomize', () => {
  it('hack/sync-chart.sh --check: the chart embeds the current CRD, dashboard and alerts, appVersion = package version', async () => {
    const result = await run('bash', [join(repoRoot, 'hack', 'sync-chart.sh'), '--check'], { env: envWithTools(cluster) });
    expect(result.code, result.stderr).toBe(0);
  });

  it('hack/render-kustomize.sh --check: config/ is what the chart renders', async () => {
    const result = await run('bash', [join(repoRoot, 'hack', 'render-kustomize.sh'), '--check'], { env: envWithTools(cluster, { HELM: join(cluster.binDir, 'helm') }) });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).toContain('config/ matches the chart');
  });

  it('kubectl apply -k config/default --dry-run=server succeeds (in a test namespace instead of aimodel-system)', async () => {
    const built = await cluster.kubectl(['kustomize', join(repoRoot, 'config', 'default')]);
    expect(built.code, built.stderr).toBe(0);
    const objects = parseManifests(built.stdout);
    expect(kinds(objects)).toContain('Namespace');
    expect(objects.find((o) => o.kind === 'Namespace')!.metadata.name).toBe('aimodel-system');
    expect(objects.filter((o) => o.metadata.namespace !== undefined).every((o) => o.metadata.namespace === 'aimodel-system')).toBe(true);
    // A server-side dry-run does not create the Namespace, so everything in it would fail with
    // "namespace not found": an overlay that changes nothing but the namespace (to an existing,
    // "restricted" one) applies config/default as it is.
    const overlay = await mkdtemp(join(tmpdir(), 'aimodel-kustomize-'));
    try {
      await writeFile(
        join(overlay, 'kustomization.yaml'),
        `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: ${releaseNs}\nresources:\n  - ${relative(overlay, join(repoRoot, 'config', 'default'))}\n`,
      );
      for (const mode of [[], ['--server-side', '--force-conflicts', '--field-manager=install-test']]) {
        const result = await cluster.kubectl(['apply', '-k', overlay, '--dry-run=server', ...mode]);
        expect(result.code, result.stderr).toBe(0);
        expect(result.stderr).not.toMatch(/would violate PodSecurity/);
        expect(result.stdout.trim().split('\n').filter((l) => l.endsWith('(server dry run)'))).toHaveLength(objects.length);
      }
    } finally {
      await rm(overlay, { recursive: true, force: true });
    }
  });
});
