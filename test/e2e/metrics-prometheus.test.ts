// A real Prometheus (Debian's package) scrapes the operator while it reconciles models; every
// dashboard panel query must return data and every alert must fire or stay quiet as the
// scenario dictates.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AIModels } from '../../src/controllers/aimodel/setup.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { USAGE_CPU_ANNOTATION } from '../../hack/localcluster/metrics.ts';
import { freePort } from '../../hack/localcluster/process.ts';
import { useTestCluster } from '../support/cluster.ts';
import type { TestCluster } from '../support/cluster.ts';
import { startTestOperator } from '../support/operator.ts';
import { startPrometheus } from '../support/prometheus.ts';
import { waitForObject } from '../support/wait.ts';

const dashboardFile = new URL('../../deploy/grafana/aimodel-operator-dashboard.json', import.meta.url);
const alertsFile = new URL('../../deploy/prometheus/aimodel-operator-alerts.yaml', import.meta.url);
const job = 'aimodel-operator';

type Model = KubeObject & { status?: { conditions?: { type: string; status: string; reason: string }[]; desiredReplicas?: number } };
type Alert = { labels: Record<string, string>; state: 'pending' | 'firing' };

let cluster: TestCluster;
let ns: string;
let prometheus: ChildProcess;
let promUrl = '';
let dataDir = '';

async function query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${promUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`);
  const body = (await res.json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`query failed: ${expr}: ${body.error}`);
  return body.data!.result;
}

async function alerts(): Promise<Alert[]> {
  const res = await fetch(`${promUrl}/api/v1/alerts`);
  return ((await res.json()) as { data: { alerts: Alert[] } }).data.alerts;
}

const firing = (list: Alert[], name: string, model?: string) =>
  list.some((a) => a.labels.alertname === name && a.state === 'firing' && (model === undefined || a.labels.name === model));

beforeAll(async () => {
  cluster = await useTestCluster();
  ns = await cluster.newNamespace();
  const metricsPort = await freePort();
  await startTestOperator(cluster, [ns], ['--leader-elect', `--leader-elect-namespace=${ns}`, `--metrics-bind-address=127.0.0.1:${metricsPort}`]);

  // The alert rules as shipped, with `for` shortened so the test need not wait 15 minutes.
  dataDir = await mkdtemp(join(tmpdir(), 'aimodel-prometheus-'));
  const rules = (await readFile(alertsFile, 'utf8')).replace(/^(\s+)for: \d+[smh]$/gm, '$1for: 3s');
  await writeFile(join(dataDir, 'rules.yaml'), rules);
  ({ url: promUrl, process: prometheus } = await startPrometheus(dataDir, {
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: [join(dataDir, 'rules.yaml')],
    scrape_configs: [
      // honor_labels keeps the AIModel metrics' own `namespace` label, as the chart's ServiceMonitor does.
      { job_name: job, honor_labels: true, static_configs: [{ targets: [`127.0.0.1:${metricsPort}`], labels: { namespace: 'aimodel-system' } }] },
    ],
  }));

  const create = (name: string, spec: Record<string, unknown>) =>
    cluster.client.create({ apiVersion: 'ai.openai.com/v1', kind: 'AIModel', metadata: { name, namespace: ns }, spec });
  await create('healthy', { model: 'healthy', replicas: 2 });
  await create('no-gpus', { model: 'no-gpus', replicas: 1, resources: { limits: { 'nvidia.com/gpu': 16 } } });
  // The cluster serves pod CPU (kwok, metrics-server): 1.5 CPUs per pod against the default target
  // (80% of 1 CPU) asks for more than 2 replicas, so the HPA holds the model at its maximum.
  await create('at-max', { model: 'at-max', replicas: 2, autoscaling: { minReplicas: 1, maxReplicas: 2 }, podAnnotations: { [USAGE_CPU_ANNOTATION]: '1500m' } });
  await create('paused', { model: 'paused', replicas: 1, suspend: true });
  const readyIs = (status: string, reason?: string) => (m: Model | undefined) =>
    !!m?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === status && (reason === undefined || c.reason === reason));
  await waitForObject<Model>(cluster.client, AIModels, ns, 'healthy', readyIs('True'));
  await waitForObject<Model>(cluster.client, AIModels, ns, 'at-max', readyIs('True'));
  // The autoscaling panel plots the CPU the HPA measured, which status carries once it has.
  await waitForObject<Model>(cluster.client, AIModels, ns, 'at-max', (m) => (m as { status?: { autoscaling?: { current?: number } } } | undefined)?.status?.autoscaling?.current !== undefined, {
    timeoutMs: 120_000,
    description: 'at-max reporting the CPU use its HPA measured',
  });
  await waitForObject<Model>(cluster.client, AIModels, ns, 'no-gpus', readyIs('False', 'InsufficientGPU'));
  await waitForObject<Model>(cluster.client, AIModels, ns, 'paused', readyIs('False', 'Suspended'));
});

afterAll(async () => {
  prometheus?.kill('SIGTERM');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('Prometheus alerts on a live operator', () => {
  it('fires AIModelNotReady for the model without GPUs and AIModelAtMaxReplicas for the one at its ceiling', async () => {
    await expect
      .poll(async () => {
        const list = await alerts();
        return firing(list, 'AIModelNotReady', 'no-gpus') && firing(list, 'AIModelAtMaxReplicas', 'at-max');
      }, { timeout: 90_000, interval: 1000 })
      .toBe(true);
  });

  it('keeps every other alert quiet: ready, suspended and leading as intended, no errors, queue draining', async () => {
    const list = await alerts();
    const active = list.filter((a) => a.state === 'firing').map((a) => `${a.labels.alertname}${a.labels.name ? `/${a.labels.name}` : ''}`).sort();
    expect(active).toEqual(['AIModelAtMaxReplicas/at-max', 'AIModelNotReady/no-gpus']);
    // The quiet alerts' expressions see the series they watch: quiet for the right reason.
    expect(await query('sum(leader_election_master_status{name="aimodel-operator-leader"})')).toEqual([expect.objectContaining({ value: [expect.any(Number), '1'] })]);
    expect((await query('workqueue_depth{controller="aimodel"}')).length).toBe(1);
  });
});

describe('Grafana dashboard', () => {
  it('has data for every panel query', async () => {
    const dashboard = JSON.parse(await readFile(dashboardFile, 'utf8')) as { panels: { title: string; targets?: { expr: string }[]; panels?: unknown[] }[] };
    const panels = dashboard.panels.flatMap((p) => [p, ...((p.panels ?? []) as typeof dashboard.panels)]);
    const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));
    expect(exprs.length).toBeGreaterThan(10);
    // Variables as Grafana would fill them for "All"; a fallback `or vector(0)` would hide a
    // missing metric, so it is removed before asking.
    const resolve = (expr: string) =>
      expr
        .replaceAll('$__rate_interval', '30s')
        .replaceAll('$job', job)
        .replaceAll('$namespace', '.*')
        .replaceAll('$model_namespace', ns)
        .replace(/\s+or\s+vector\(0\)/g, '');
    const empty: string[] = [];
    await expect
      .poll(async () => {
        empty.length = 0;
        for (const { title, expr } of exprs) if ((await query(resolve(expr))).length === 0) empty.push(`${title}: ${resolve(expr)}`);
        return empty;
      }, { timeout: 60_000, interval: 2000 })
      .toEqual([]);
  });
});
