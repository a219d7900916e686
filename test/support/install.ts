// What the install tests (test/e2e/install*.test.ts) share: running helm and other programs,
// reading what the chart renders, and acting as the chart's ServiceAccount from outside the
// cluster (a TokenRequest token in a kubeconfig of its own).
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { dump, loadAll } from 'js-yaml';
import { Namespaces } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import type { TestCluster } from './cluster.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const chartDir = join(repoRoot, 'charts', 'aimodel-operator');
export const samplesDir = join(repoRoot, 'config', 'samples');
/** The seed AIModel as users write it (the product's example), for tests that apply it unchanged. */
export const seedFile = join(samplesDir, 'aimodel-seed.yaml');
/** The project's Node 24 (the `node` devDependency); the system node may be older. */
export const node24 = join(repoRoot, 'node_modules', '.bin', 'node');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs a program to completion; never rejects (the exit code tells). */
export function run(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    const child = execFile(
      file,
      args,
      { cwd: options.cwd ?? repoRoot, env: options.env ?? process.env, maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 300_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolvePromise({ code, stdout: String(stdout), stderr: String(stderr) + (err && code === 1 && !stderr ? String(err.message) : '') });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** PATH with the pinned kubectl and helm first (hack scripts look for helm there too). */
export function envWithTools(cluster: TestCluster, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${cluster.binDir}:${process.env.PATH ?? ''}`, KUBECONFIG: cluster.kubeconfigPath, ...extra };
}

/** The pinned helm, against the test cluster. */
export function helm(cluster: TestCluster, args: string[], input?: string): Promise<RunResult> {
  return run(join(cluster.binDir, 'helm'), [`--kubeconfig=${cluster.kubeconfigPath}`, ...args], { input, env: envWithTools(cluster) });
}

/** The chart's chart-testing values files (charts/aimodel-operator/ci/*.yaml), as paths. */
export async function ciValuesFiles(): Promise<string[]> {
  return (await readdir(join(chartDir, 'ci')))
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(chartDir, 'ci', f));
}

export type Manifest = KubeObject & { apiVersion: string; kind: string; [key: string]: unknown };

/** The objects of a multi-document YAML stream (empty documents dropped). */
export function parseManifests(yaml: string): Manifest[] {
  return loadAll(yaml).filter((d): d is Manifest => typeof d === 'object' && d !== null && 'kind' in d);
}

export const toYaml = (objects: object[]): string => objects.map((o) => dump(o, { noRefs: true })).join('---\n');

type Container = { name: string; args?: string[] };

/** The operator container's args in a rendered (or live) chart Deployment. */
export function operatorArgs(deployment: object): string[] {
  const containers = ((deployment as { spec?: unknown }).spec as { template: { spec: { containers: Container[] } } }).template.spec.containers;
  const manager = containers.find((c) => c.name === 'manager');
  if (!manager?.args) throw new Error('the Deployment has no manager container with args');
  return manager.args;
}

/** The chart's flags with the listen addresses moved to the given loopback ports (the chart's :8080/:8081 may be taken on a shared host). */
export function onLoopback(args: string[], ports: { metrics: number; health: number }): string[] {
  const out = args.map((a) =>
    a.startsWith('--metrics-bind-address=') ? `--metrics-bind-address=127.0.0.1:${ports.metrics}` : a.startsWith('--health-probe-bind-address=') ? `--health-probe-bind-address=127.0.0.1:${ports.health}` : a,
  );
  if (!out.includes(`--metrics-bind-address=127.0.0.1:${ports.metrics}`) || !out.includes(`--health-probe-bind-address=127.0.0.1:${ports.health}`)) {
    throw new Error(`the chart's args lack --metrics-bind-address or --health-probe-bind-address: ${args.join(' ')}`);
  }
  return out;
}

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePromise(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface ServiceAccountIdentity {
  username: string;
  token: string;
  kubeConfig: KubeConfig;
  /** The same kubeconfig as a file, for programs. */
  kubeconfigPath: string;
  /** Removes the kubeconfig file (it holds the token). */
  dispose(): Promise<void>;
}

/**
 * A kubeconfig that authenticates as namespace/serviceAccount with a bound token from the
 * TokenRequest API (POST .../serviceaccounts/<name>/token), the server and CA taken from the
 * admin kubeconfig. Nothing of the admin's credentials is carried over.
 */
export async function serviceAccountKubeConfig(cluster: TestCluster, namespace: string, serviceAccount: string, expirationSeconds = 3600): Promise<ServiceAccountIdentity> {
  const review = await cluster.client.request<{ status: { token: string } }>({
    method: 'POST',
    path: `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds } },
  });
  const token = review.status.token;
  const admin = cluster.kubeConfig.getCurrentCluster();
  if (!admin) throw new Error('the admin kubeconfig has no current cluster');
  const caData = admin.caData ?? (admin.caFile ? (await readFile(admin.caFile)).toString('base64') : undefined);
  const user = `system:serviceaccount:${namespace}:${serviceAccount}`;
  const file = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server: admin.server, ...(caData ? { 'certificate-authority-data': caData } : {}) } }],
    users: [{ name: serviceAccount, user: { token } }],
    contexts: [{ name: serviceAccount, context: { cluster: 'local', user: serviceAccount, namespace } }],
    'current-context': serviceAccount,
  };
  const dir = await mkdtemp(join(tmpdir(), 'aimodel-sa-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  await writeFile(kubeconfigPath, dump(file), { mode: 0o600 });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  return { username: user, token, kubeConfig, kubeconfigPath, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Namespaces a test file creates and deletes itself, in its own afterAll. (useTestCluster's
 * newNamespace registers its clean-up with afterAll from inside the first beforeAll, after the
 * file's hooks were collected, and vitest never runs it: its namespaces are left behind.)
 * The label names the file, so anything left by a killed run can be found.
 */
export function ownNamespaces(file: string) {
  const names: string[] = [];
  let owner: TestCluster | undefined;
  return {
    async create(cluster: TestCluster, labels: Record<string, string> = {}): Promise<string> {
      owner = cluster;
      const name = await cluster.newNamespace({ 'aimodel-operator.test/file': file, ...labels });
      names.push(name);
      return name;
    },
    async deleteAll(): Promise<void> {
      if (!owner) return;
      const client = owner.client;
      await Promise.all(names.splice(0).map((n) => client.delete(Namespaces, undefined, n).catch(() => false)));
    },
  };
}
