// A control plane of a resilience scenario's own: the scenarios restart the API server and
// etcd, throttle the API server and compact etcd, so they never share a cluster with other
// tests. Every cluster writes an audit log (what each client really sent), installs the CRD of
// this checkout, and gives the operator a ServiceAccount identity with the Helm chart's RBAC.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAll } from 'js-yaml';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../../src/kube/client.ts';
import { CustomResourceDefinitions, Namespaces } from '../../../src/kube/resources.ts';
import type { KubeObject } from '../../../src/kube/types.ts';
import { cacheDir, LocalCluster, poll } from '../../../hack/localcluster/cluster.ts';
import { AuditLog, auditPolicy } from './audit.ts';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
/** Namespace of the operator's ServiceAccount, leader Lease and RBAC release. */
export const operatorNamespace = 'aimodel-system';
export const operatorServiceAccount = 'aimodel-operator';
export const operatorUser = `system:serviceaccount:${operatorNamespace}:${operatorServiceAccount}`;

type Component = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok';

export interface ResilienceClusterOptions {
  /** Extra kube-apiserver flags (throttling, watch cache). */
  apiServerArgs?: string[];
}

export class ResilienceCluster {
  readonly dir: string;
  readonly local: LocalCluster;
  readonly client: KubeClient;
  readonly kubeConfig: KubeConfig;
  readonly audit: AuditLog;
  private etcdUrl: string | undefined;

  private constructor(dir: string, local: LocalCluster, client: KubeClient, kubeConfig: KubeConfig, audit: AuditLog) {
    this.dir = dir;
    this.local = local;
    this.client = client;
    this.kubeConfig = kubeConfig;
    this.audit = audit;
  }

  static async start(options: ResilienceClusterOptions = {}): Promise<ResilienceCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'aimodel-resilience-'));
    const policy = join(dir, 'audit-policy.yaml');
    const auditPath = join(dir, 'audit.log');
    await writeFile(policy, auditPolicy);
    const local = await LocalCluster.start({
      stateDir: join(dir, 'state'),
      apiServerArgs: [
        `--audit-policy-file=${policy}`,
        `--audit-log-path=${auditPath}`,
        '--audit-log-maxsize=100000',
        '--audit-log-mode=blocking',
        ...(options.apiServerArgs ?? []),
      ],
      log: (m) => process.stderr.write(`${m}\n`),
    });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(local.kubeconfigPath);
    const client = await KubeClient.fromKubeConfig(kubeConfig, { userAgent: 'aimodel-resilience-tests' });
    const cluster = new ResilienceCluster(dir, local, client, kubeConfig, new AuditLog(auditPath));
    try {
      await cluster.installCrd();
      await cluster.ensureNamespace(operatorNamespace);
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  async kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.local.kubectl(args, input);
  }

  private async installCrd(): Promise<void> {
    const crd = await this.kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(repoRoot, 'crds')]);
    if (crd.code !== 0) throw new Error(`installing the CRD failed: ${crd.stderr}`);
    // Polled rather than `kubectl wait`, which fails when the CRD has no status yet.
    await poll('the AIModel CRD to become Established', 60_000, async () => {
      const crd = await this.client.find<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(CustomResourceDefinitions, undefined, 'aimodels.ai.openai.com');
      return crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    }, { intervalMs: 200 });
  }

  async ensureNamespace(name: string, labels: Record<string, string> = {}): Promise<string> {
    const existing = await this.client.find(Namespaces, undefined, name);
    if (!existing) await this.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
    return name;
  }

  async newNamespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
    return this.ensureNamespace(`${prefix}-${randomBytes(3).toString('hex')}`, labels);
  }

  /**
   * Installs the operator's ServiceAccount and RBAC exactly as the Helm chart renders them
   * (`helm template charts/aimodel-operator`), and returns a kubeconfig that authenticates as
   * that ServiceAccount with a TokenRequest token. Without watchNamespaces the chart grants a
   * ClusterRole; with them, a Role in each.
   */
  async operatorKubeconfig(options: { watchNamespaces?: string[]; server?: string } = {}): Promise<string> {
    const set = ['--set', 'crds.install=false', '--set', 'leaderElection.enabled=true'];
    if (options.watchNamespaces?.length) set.push('--set', `watchNamespaces={${options.watchNamespaces.join(',')}}`);
    const rendered = await run(join(this.local.binDir, 'helm'), ['template', 'aimodel-operator', join(repoRoot, 'charts', 'aimodel-operator'), '--namespace', operatorNamespace, ...set]);
    const rbacKinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
    const docs = (loadAll(rendered) as (KubeObject | null)[])
      .filter((d): d is KubeObject => !!d && rbacKinds.has(d.kind ?? ''));
    const applied = await this.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], docs.map((d) => JSON.stringify(d)).join('\n'));
    if (applied.code !== 0) throw new Error(`applying the chart's RBAC failed: ${applied.stderr}`);

    const token = await this.client.request<{ status: { token: string } }>({
      method: 'POST',
      path: `/api/v1/namespaces/${operatorNamespace}/serviceaccounts/${operatorServiceAccount}/token`,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 86_400 } },
    });
    const cluster = this.kubeConfig.getCurrentCluster()!;
    const ca = cluster.caData ?? Buffer.from(await readFile(cluster.caFile!, 'utf8')).toString('base64');
    const path = join(this.dir, `operator-${randomBytes(3).toString('hex')}.kubeconfig`);
    await writeFile(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: local`,
        `  cluster: {server: "${options.server ?? cluster.server}", certificate-authority-data: ${ca}}`,
        'users:',
        `- name: operator`,
        `  user: {token: ${token.status.token}}`,
        'contexts:',
        `- name: operator`,
        `  context: {cluster: local, user: operator, namespace: ${operatorNamespace}}`,
        'current-context: operator',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    return path;
  }

  /** The etcd client URL, read from the etcd process's own arguments. */
  async etcdEndpoint(): Promise<string> {
    if (this.etcdUrl) return this.etcdUrl;
    const registry = join(cacheDir, 'clusters');
    for (const file of await readdir(registry)) {
      const entry = JSON.parse(await readFile(join(registry, file), 'utf8').catch(() => '{}')) as { stateDir?: string; pids?: number[] };
      if (entry.stateDir !== this.local.stateDir) continue;
      for (const pid of entry.pids ?? []) {
        const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
        const flag = args.find((a) => a.startsWith('--listen-client-urls='));
        if (flag) return (this.etcdUrl = flag.slice('--listen-client-urls='.length).split(',')[0]!);
      }
    }
    throw new Error(`no etcd process found for the cluster in ${this.local.stateDir}`);
  }

  /** Calls etcd's v3 HTTP/JSON gateway. */
  async etcd<T>(path: string, body: unknown): Promise<T> {
    const res = await fetch(`${await this.etcdEndpoint()}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    const text = await res.text();
    if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  /** The current etcd revision. */
  async etcdRevision(): Promise<number> {
    const r = await this.etcd<{ header: { revision: string } }>('/v3/kv/range', { key: b64('/registry/namespaces/default') });
    return Number(r.header.revision);
  }

  /** Compacts etcd up to its current revision: every older resourceVersion becomes 410 Gone. */
  async compactEtcd(): Promise<number> {
    const revision = await this.etcdRevision();
    await this.etcd('/v3/kv/compaction', { revision: String(revision), physical: true });
    return revision;
  }

  /** Reads a stored object straight from etcd (custom resources are stored as JSON). */
  async etcdGet(key: string): Promise<Record<string, any> | undefined> {
    const r = await this.etcd<{ kvs?: { value: string }[] }>('/v3/kv/range', { key: b64(key) });
    const value = r.kvs?.[0]?.value;
    return value ? (JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as Record<string, any>) : undefined;
  }

  /** Writes an object straight into etcd, past admission and validation (an older CRD, a restore). */
  async etcdPut(key: string, object: unknown): Promise<void> {
    await this.etcd('/v3/kv/put', { key: b64(key), value: b64(JSON.stringify(object)) });
  }

  async restart(component: Component, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    await this.local.stopComponent(component, signal);
    await this.local.startComponent(component);
  }

  async stop(): Promise<void> {
    await this.client.close().catch(() => {});
    await this.local.stop();
    if (!process.env.RESILIENCE_KEEP) await rm(this.dir, { recursive: true, force: true });
    else process.stderr.write(`[resilience] kept ${this.dir}\n`);
  }
}

export function aimodelKey(namespace: string, name: string): string {
  return `/registry/ai.openai.com/aimodels/${namespace}/${name}`;
}

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

async function run(binary: string, args: string[]): Promise<string> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    execFile(binary, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`${binary} ${args.join(' ')}: ${stderr}`)) : resolve(stdout)));
  });
}
