// Issue 12 item 11: the metrics name every tenant's models, so the chart can put them behind
// Kubernetes authentication and RBAC (metrics.secure.enabled, --metrics-secure), as
// controller-runtime's secure metrics do. The operator runs under the chart's ServiceAccount with
// the chart's RBAC and flags (rendered by helm template); the API server reviews every scraper's
// token (TokenReview) and its right to GET /metrics (SubjectAccessReview). Debian's Prometheus
// is the real scraper: with the token of a ServiceAccount bound to the chart's metrics-reader
// ClusterRole it gets the metrics, verifying the operator's self-signed certificate on the way;
// without a token it gets 401, with a token lacking the binding 403.
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.ts';
import type { RequestRecord } from '../../src/kube/client.ts';
import { ClusterRoleBindings, ClusterRoles } from '../../src/kube/resources.ts';
import { startOperator } from '../../src/operator.ts';
import type { RunningOperator } from '../../src/operator.ts';
import { useTestCluster } from '../support/cluster.ts';
import type { TestCluster } from '../support/cluster.ts';
import { chartDir, freePort, helm, onLoopback, operatorArgs, ownNamespaces, parseManifests, serviceAccountKubeConfig } from '../support/install.ts';
import type { Manifest, ServiceAccountIdentity } from '../support/install.ts';
import { startPrometheus } from '../support/prometheus.ts';

type Target = { labels: { job: string }; health: 'up' | 'down' | 'unknown'; lastError: string };

let cluster: TestCluster;
let ns: string;
const release = `msec-${randomBytes(3).toString('hex')}`;
const fullname = `${release}-aimodel-operator`;
const namespaces = ownNamespaces('metrics-secure');
const identities: ServiceAccountIdentity[] = [];
let clusterScoped: Manifest[] = [];
let operator: RunningOperator | undefined;
const operatorRequests: RequestRecord[] = [];
let metricsPort = 0;
let readerToken = '';
let strangerToken = '';
let prometheus: ChildProcess | undefined;
let promUrl = '';
let dataDir = '';

/** GET https://127.0.0.1:<metricsPort>/metrics; the certificate is checked by Prometheus below, not here. */
function scrape(token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: metricsPort, path: '/metrics', rejectUnauthorized: false, agent: false, headers: token ? { authorization: `Bearer ${token}` } : {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject).end();
  });
}

/** The certificate the operator serves, as PEM (it made it at start-up). */
function servedCertificate(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: metricsPort, servername: 'localhost', rejectUnauthorized: false }, () => {
      const der = socket.getPeerCertificate().raw;
      socket.end();
      resolve(`-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`);
    });
    socket.on('error', reject);
  });
}

async function query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${promUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`);
  const body = (await res.json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`query failed: ${expr}: ${body.error}`);
  return body.data!.result;
}

async function targets(): Promise<Record<string, Target>> {
  const res = await fetch(`${promUrl}/api/v1/targets`);
  const list = ((await res.json()) as { data: { activeTargets: Target[] } }).data.activeTargets;
  return Object.fromEntries(list.map((t) => [t.labels.job, t]));
}

const tokenReviews = () => operatorRequests.filter((r) => r.path === '/apis/authentication.k8s.io/v1/tokenreviews').length;

beforeAll(async () => {
  cluster = await useTestCluster();
  ns = await namespaces.create(cluster);

  // What the chart installs with secure metrics, watching only this namespace; Prometheus'
  // ServiceAccount is bound to the metrics-reader ClusterRole through metrics.secure.readers.
  const rendered = await helm(cluster, [
    'template', release, chartDir, '--namespace', ns,
    '--set', 'metrics.secure.enabled=true',
    '--set', `watchNamespaces={${ns}}`,
    '--set', 'rbac.aggregateToDefaultRoles=false',
    '--set', 'metrics.secure.readers[0].kind=ServiceAccount',
    '--set', 'metrics.secure.readers[0].name=prometheus',
    '--set', `metrics.secure.readers[0].namespace=${ns}`,
  ]);
  expect(rendered.code, rendered.stderr).toBe(0);
  const objects = parseManifests(rendered.stdout);
  const rbac = objects.filter((o) => ['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind));
  clusterScoped = rbac.filter((o) => o.kind.startsWith('Cluster'));
  expect(clusterScoped.map((o) => o.metadata.name).sort()).toEqual([`${fullname}-metrics-auth`, `${fullname}-metrics-auth`, `${fullname}-metrics-reader`, `${fullname}-metrics-reader`]);
  const applied = await cluster.kubectl(['apply', '--server-side', '--field-manager=metrics-secure-test', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }));
  expect(applied.code, applied.stderr).toBe(0);
  for (const name of ['prometheus', 'stranger']) await cluster.client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } });

  // The operator as the chart runs it: its ServiceAccount, its flags (listen addresses moved to loopback).
  const operatorIdentity = await serviceAccountKubeConfig(cluster, ns, fullname);
  identities.push(operatorIdentity);
  metricsPort = await freePort();
  const args = onLoopback(operatorArgs(objects.find((o) => o.kind === 'Deployment')!), { metrics: metricsPort, health: 0 });
  expect(args).toContain('--metrics-secure=true');
  operator = await startOperator(parseConfig(args, {}), operatorIdentity.kubeConfig, pino({ level: process.env.TEST_LOG_LEVEL ?? 'warn' }));
  operator.client.addObserver((r) => operatorRequests.push(r));

  // Tokens from the TokenRequest API, as a kubelet mounts them into Prometheus' pod.
  const reader = await serviceAccountKubeConfig(cluster, ns, 'prometheus');
  const stranger = await serviceAccountKubeConfig(cluster, ns, 'stranger');
  identities.push(reader, stranger);
  readerToken = reader.token;
  strangerToken = stranger.token;

  // A tenant's model, whose name the metrics carry.
  // (Every cached model has its series, whatever its status, so none is awaited.)
  await cluster.client.create({ apiVersion: 'ai.openai.com/v1', kind: 'AIModel', metadata: { name: 'tenant-private-model', namespace: ns }, spec: { model: 'tenant-private-model', replicas: 1 } });
});

afterAll(async () => {
  prometheus?.kill('SIGTERM');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  await operator?.stop().catch(() => {});
  for (const identity of identities) await identity.dispose();
  for (const o of clusterScoped) await cluster.client.delete(o.kind === 'ClusterRole' ? ClusterRoles : ClusterRoleBindings, undefined, o.metadata.name).catch(() => false);
  await namespaces.deleteAll();
});

describe('secure metrics, under the chart', () => {
  it('answers 401 without a token and with one the API server rejects, 403 to a ServiceAccount without the metrics-reader binding', async () => {
    const anonymous = await scrape();
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).not.toContain('tenant-private-model');
    expect((await scrape('not-a-token')).status).toBe(401);
    const forbidden = await scrape(strangerToken);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toBe(`Authorization denied for user system:serviceaccount:${ns}:stranger\n`);
    expect(forbidden.body).not.toContain('tenant-private-model');
  });

  it('serves the metrics to the ServiceAccount bound to metrics-reader', async () => {
    const series = `aimodel_desired_replicas{namespace="${ns}",name="tenant-private-model"}`;
    await expect.poll(async () => (await scrape(readerToken)).body.includes(series), { timeout: 30_000, interval: 500 }).toBe(true);
    const allowed = await scrape(readerToken);
    expect(allowed.status).toBe(200);
    expect(allowed.body).toMatch(/^controller_runtime_reconcile_total\{controller="aimodel",result="success"\} \d/m);
  });

  it('Prometheus scrapes it with the reader token over verified TLS; the anonymous and unbound scrapes fail with 401 and 403', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'aimodel-prometheus-secure-'));
    // The operator's self-signed certificate, trusted as it is: Prometheus (Go's crypto/x509) verifies it.
    await writeFile(join(dataDir, 'operator.crt'), await servedCertificate());
    await writeFile(join(dataDir, 'reader.token'), readerToken, { mode: 0o600 });
    await writeFile(join(dataDir, 'stranger.token'), strangerToken, { mode: 0o600 });
    const target = { static_configs: [{ targets: [`127.0.0.1:${metricsPort}`] }], scheme: 'https', honor_labels: true };
    ({ url: promUrl, process: prometheus } = await startPrometheus(dataDir, {
      global: { scrape_interval: '1s', scrape_timeout: '1s' },
      scrape_configs: [
        // As the chart's ServiceMonitor with a certificate to verify: a token file and a CA.
        { job_name: 'reader', ...target, authorization: { type: 'Bearer', credentials_file: join(dataDir, 'reader.token') }, tls_config: { ca_file: join(dataDir, 'operator.crt'), server_name: 'localhost' } },
        { job_name: 'stranger', ...target, authorization: { type: 'Bearer', credentials_file: join(dataDir, 'stranger.token') }, tls_config: { insecure_skip_verify: true } },
        { job_name: 'anonymous', ...target, tls_config: { insecure_skip_verify: true } },
      ],
    }));

    await expect
      .poll(async () => {
        const t = await targets();
        return { reader: t.reader?.health, stranger: t.stranger?.lastError, anonymous: t.anonymous?.lastError };
      }, { timeout: 30_000, interval: 500 })
      .toEqual({ reader: 'up', stranger: expect.stringContaining('403 Forbidden'), anonymous: expect.stringContaining('401 Unauthorized') });
    expect((await targets()).reader!.lastError).toBe('');

    await expect.poll(async () => (await query('controller_runtime_reconcile_total{job="reader",controller="aimodel"}')).length, { timeout: 15_000 }).toBe(4);
    expect(await query(`aimodel_desired_replicas{job="reader",namespace="${ns}",name="tenant-private-model"}`)).toHaveLength(1);
    for (const job of ['stranger', 'anonymous']) {
      expect(await query(`up{job="${job}"}`)).toEqual([expect.objectContaining({ value: [expect.any(Number), '0'] })]);
      expect(await query(`controller_runtime_reconcile_total{job="${job}"}`)).toEqual([]);
    }
  });

  it('reviews each token about once a minute, not on every scrape', async () => {
    const started = Date.now();
    const before = tokenReviews();
    // Ten more scrapes by each of the three Prometheus jobs.
    const samples = async () => Number((await query('count_over_time(up{job="reader"}[10m])'))[0]?.value[1] ?? 0);
    const target = (await samples()) + 10;
    await expect.poll(samples, { timeout: 30_000, interval: 1000 }).toBeGreaterThanOrEqual(target);
    // Three tokens (reader, stranger; the anonymous job sends none) reviewed at most once per
    // minute each, whereas uncached it would be one review per scrape (20 here).
    const minutes = Math.floor((Date.now() - started) / 60_000) + 1;
    expect(tokenReviews() - before).toBeLessThanOrEqual(2 * minutes);
  });
});
