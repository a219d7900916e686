// A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kwok (which plays kubelet for fake nodes) and metrics-server, built from source by
// hack/build-components.sh; on request also Prometheus and KEDA's operator and metrics adapter.
// Used by the tests, the benchmarks and `npm start` without a cluster.
//
// Every hop stays on loopback. The aggregated APIs (metrics-server, KEDA's adapter) are reached
// through ExternalName Services whose externalName is 127.0.0.1 (the API server refuses loopback
// addresses in Endpoints); nodes report only 127.0.0.1 and localhost, so whatever dials a node
// (metrics-server, the API server for logs) reaches kwok.
import { execFile } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client.ts';
import { CustomResourceDefinitions, Namespaces, Nodes, registerResource, ServiceAccounts } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { kwokConfig, nodeMetricsPath, prometheusConfig } from './metrics.ts';
import { createPki, issueLocalhostCertDir } from './pki.ts';
import type { Pki } from './pki.ts';
import { ComponentProcess, freePort, isAlive } from './process.ts';


export const cacheDir = process.env.AIMODEL_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'aimodel-operator');
const registryDir = join(cacheDir, 'clusters');
const buildScript = fileURLToPath(new URL('../../hack/build-components.sh', import.meta.url));

export interface FakeNode {
  name: string;
  cpu: string;
  memory: string;
  gpus?: number;
}

/** Four nodes: two CPU-only, two with 8 GPUs each, labelled and tainted like a GPU node pool. */
const StorageClasses = registerResource({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', plural: 'storageclasses', namespaced: false });

/** The default StorageClass, served by kube-controller-manager's development host-path provisioner. */
const defaultStorageClass = {
  apiVersion: StorageClasses.apiVersion,
  kind: StorageClasses.kind,
  metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
  provisioner: 'kubernetes.io/host-path',
  reclaimPolicy: 'Delete',
  volumeBindingMode: 'Immediate',
} as KubeObject;

export const defaultNodes: FakeNode[] = [
  { name: 'kwok-cpu-0', cpu: '512', memory: '2Ti' },
  { name: 'kwok-cpu-1', cpu: '512', memory: '2Ti' },
  { name: 'kwok-gpu-0', cpu: '64', memory: '512Gi', gpus: 8 },
  { name: 'kwok-gpu-1', cpu: '64', memory: '512Gi', gpus: 8 },
];

export interface LocalClusterOptions {
  /** Where certificates, etcd data, logs and the kubeconfig live; removed by stop(). */
  stateDir: string;
  /** Extra kube-apiserver flags, e.g. low --max-requests-inflight for throttling tests. */
  apiServerArgs?: string[];
  nodes?: FakeNode[];
  log?: (message: string) => void;
  /** Keep the state directory on stop (for debugging). */
  keepState?: boolean;
  /** metrics-server serving metrics.k8s.io (kubectl top, CPU and memory HPAs). Default true. */
  metricsServer?: boolean;
  /**
   * KEDA's operator and metrics adapter serving external.metrics.k8s.io, with KEDA's CRDs, and
   * Prometheus for its triggers. Default false: two more processes on a small machine, and the
   * first use builds KEDA (minutes).
   */
  keda?: boolean;
  /** Prometheus scraping kwok's simulated pod metrics (prometheusUrl). Default: on with keda. */
  prometheus?: boolean;
}

type ComponentName =
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kwok'
  | 'metrics-server'
  | 'prometheus'
  | 'keda-operator'
  | 'keda-adapter';

/** The aggregated API each optional server registers. */
const MetricsApiService = 'v1beta1.metrics.k8s.io';
const ExternalMetricsApiService = 'v1beta1.external.metrics.k8s.io';
const APIServices = registerResource({ apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', plural: 'apiservices', namespaced: false });
type Conditioned = KubeObject & { status?: { conditions?: { type: string; status: string; message?: string }[] } };
const hasCondition = (obj: Conditioned | undefined, type: string) => obj?.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;

/** The directory of a program on PATH (Prometheus comes from Debian's package, not the build). */
function onPath(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, program), fsConstants.X_OK);
      return join(dir, program);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** GET over TLS without verifying the certificate: the component's own self-check, on loopback. */
function insecureGetStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, { rejectUnauthorized: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('timeout', () => req.destroy(new Error('timed out')));
    req.once('error', reject);
  });
}

/** What every cluster needs (helm and kstatus for the tests); KEDA is built when first asked for. */
const baseComponents = ['etcd', 'kwok', 'helm', 'kstatus', 'kubernetes', 'metrics-server'];

/** Builds (or finds cached) components and returns their bin directory. */
export async function ensureComponents(log: (m: string) => void = (m) => process.stderr.write(`${m}\n`), extra: string[] = []): Promise<string> {
  log('[cluster] checking the pinned control-plane components (built from source on first use)');
  const child = execFile('bash', [buildScript, ...baseComponents, ...extra], { maxBuffer: 16 * 1024 * 1024 });
  child.stderr?.on('data', (chunk: Buffer | string) => process.stderr.write(chunk));
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer | string) => (stdout += String(chunk)));
  const code: number = await new Promise((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  if (code !== 0) throw new Error(`building the control-plane components failed (exit ${code}); see the messages above`);
  return stdout.trim().split('\n').pop()!;
}

export interface PollOptions {
  /** Time between two checks (default 250 ms). */
  intervalMs?: number;
  /** When larger than intervalMs, the time between checks doubles after each miss up to this. */
  maxIntervalMs?: number;
  /** Errors after which waiting longer cannot help: rethrown at once instead of retried. */
  isFatal?: (err: unknown) => boolean;
}

/**
 * Checks a condition until it yields a value (anything but undefined or false) and returns it.
 * An error thrown by the check counts as "not yet" (the last one is named on timeout) unless
 * isFatal says otherwise. This waits on a condition, never a fixed time: the interval only
 * bounds how often the condition is read.
 */
export async function poll<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined | false>, options: PollOptions = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let interval = options.intervalMs ?? 250;
  const maxInterval = Math.max(interval, options.maxIntervalMs ?? interval);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      lastError = undefined;
    } catch (err) {
      if (options.isFatal?.(err)) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, interval));
    interval = Math.min(interval * 2, maxInterval);
  }
}

/** How the control plane's start-up is polled: often at first, backing off to twice a second. */
const startupPoll: PollOptions = { intervalMs: 50, maxIntervalMs: 500 };

function kubeconfigYaml(server: string, pki: { ca: string; cert: string; key: string }): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: aimodel-local',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(pki.ca)}`,
    'users:',
    '- name: aimodel-local-admin',
    '  user:',
    `    client-certificate-data: ${b64(pki.cert)}`,
    `    client-key-data: ${b64(pki.key)}`,
    'contexts:',
    '- name: aimodel-local',
    '  context: {cluster: aimodel-local, user: aimodel-local-admin, namespace: default}',
    'current-context: aimodel-local',
    '',
  ].join('\n');
}

function fakeNode(node: FakeNode): KubeObject & Record<string, unknown> {
  // Fake nodes cost nothing per pod: room for the benchmarks' thousands of models.
  const capacity: Record<string, string> = { cpu: node.cpu, memory: node.memory, pods: '5000' };
  const labels: Record<string, string> = {
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/os': 'linux',
    'kubernetes.io/hostname': node.name,
    type: 'kwok',
  };
  const taints: unknown[] = [];
  if (node.gpus) {
    capacity['nvidia.com/gpu'] = String(node.gpus);
    labels['nvidia.com/gpu.present'] = 'true';
    taints.push({ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' });
  }
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: node.name,
      labels,
      annotations: {
        'kwok.x-k8s.io/node': 'fake',
        'node.alpha.kubernetes.io/ttl': '0',
        // metrics-server reads the node's resource metrics here (kwok serves every node on one port).
        'metrics.k8s.io/resource-metrics-path': nodeMetricsPath(node.name),
      },
    },
    spec: { taints },
    status: {
      capacity,
      allocatable: capacity,
      nodeInfo: { architecture: 'amd64', operatingSystem: 'linux', kubeletVersion: 'fake', kubeProxyVersion: 'fake' },
      phase: 'Running',
    },
  };
}

/** Kills the processes of clusters whose owner died without stopping them, and removes their state. */
async function sweepAbandoned(log: (m: string) => void): Promise<void> {
  await mkdir(registryDir, { recursive: true });
  for (const file of await readdir(registryDir)) {
    const path = join(registryDir, file);
    const entry = JSON.parse(await readFile(path, 'utf8').catch(() => '{}')) as { owner?: number; pids?: number[]; stateDir?: string; keep?: boolean };
    if (entry.owner && isAlive(entry.owner)) continue;
    for (const pid of entry.pids ?? []) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    if (entry.stateDir && !entry.keep) await rm(entry.stateDir, { recursive: true, force: true });
    await rm(path, { force: true });
    log(`[cluster] cleaned up an abandoned cluster of process ${entry.owner}`);
  }
}

export class LocalCluster {
  readonly stateDir: string;
  readonly kubeconfigPath: string;
  readonly binDir: string;
  server = '';
  /** Prometheus's address when it runs (options prometheus or keda), e.g. for a KEDA trigger. */
  prometheusUrl: string | undefined;
  readonly metricsServer: boolean;
  readonly keda: boolean;
  readonly prometheus: boolean;
  private readonly options: LocalClusterOptions;
  private readonly components = new Map<ComponentName, ComponentProcess>();
  private pki: Pki | undefined;
  private ports = {
    etcd: 0, etcdPeer: 0, apiserver: 0, kcm: 0, scheduler: 0, kwok: 0, metricsServer: 0, prometheus: 0,
    kedaMetrics: 0, kedaHealth: 0, kedaGrpc: 0, kedaAdapter: 0, kedaAdapterMetrics: 0,
  };
  private admin: KubeClient | undefined;
  private readonly registryFile: string;
  private readonly log: (m: string) => void;

  private constructor(options: LocalClusterOptions, binDir: string) {
    this.options = options;
    this.stateDir = options.stateDir;
    this.kubeconfigPath = join(options.stateDir, 'kubeconfig');
    this.binDir = binDir;
    this.metricsServer = options.metricsServer ?? true;
    this.keda = options.keda ?? false;
    this.prometheus = options.prometheus ?? this.keda;
    this.log = options.log ?? ((m) => process.stderr.write(`${m}\n`));
    this.registryFile = join(registryDir, `${process.pid}-${Buffer.from(options.stateDir).toString('base64url').slice(-24)}.json`);
  }

  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
    const binDir = await ensureComponents(log, options.keda ? ['keda'] : []);
    await sweepAbandoned(log);
    const cluster = new LocalCluster(options, binDir);
    try {
      await cluster.boot();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** An admin client for the cluster. */
  async client(): Promise<KubeClient> {
    if (!this.admin) {
      const kc = new KubeConfig();
      kc.loadFromFile(this.kubeconfigPath);
      this.admin = await KubeClient.fromKubeConfig(kc, { userAgent: 'aimodel-localcluster' });
    }
    return this.admin;
  }

  private async boot(): Promise<void> {
    const started = Date.now();
    await rm(this.stateDir, { recursive: true, force: true });
    for (const dir of ['pki', 'logs', 'etcd']) await mkdir(join(this.stateDir, dir), { recursive: true });
    this.pki = await createPki(join(this.stateDir, 'pki'));
    for (const key of Object.keys(this.ports) as (keyof typeof this.ports)[]) this.ports[key] = await freePort();
    this.server = `https://127.0.0.1:${this.ports.apiserver}`;
    const [ca, cert, key] = await Promise.all([this.pki.caCert, this.pki.adminCert, this.pki.adminKey].map((f) => readFile(f, 'utf8')));
    await writeFile(this.kubeconfigPath, kubeconfigYaml(this.server, { ca: ca!, cert: cert!, key: key! }), { mode: 0o600 });
    await writeFile(join(this.stateDir, 'kwok.yaml'), await kwokConfig(this.shareDir, { engineGauges: this.prometheus }));
    if (this.prometheus) {
      await mkdir(join(this.stateDir, 'prometheus'), { recursive: true });
      await writeFile(join(this.stateDir, 'prometheus', 'prometheus.yaml'), prometheusConfig(this.ports.kwok));
      this.prometheusUrl = `http://127.0.0.1:${this.ports.prometheus}`;
    }

    await this.startComponent('etcd');
    await this.startComponent('kube-apiserver');
    const rest: ComponentName[] = ['kube-controller-manager', 'kube-scheduler', 'kwok'];
    if (this.metricsServer) rest.push('metrics-server');
    if (this.prometheus) rest.push('prometheus');
    await Promise.all(rest.map((name) => this.startComponent(name)));
    const client = await this.client();
    for (const node of this.options.nodes ?? defaultNodes) await client.create(fakeNode(node));
    await client.create(defaultStorageClass);
    if (this.metricsServer) await this.registerAggregatedApi(MetricsApiService, 'kube-system', 'metrics-server', this.ports.metricsServer);
    if (this.keda) await this.startKeda();
    await this.waitForWorkloadReady();
    this.log(`[cluster] ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${this.server} (kubeconfig ${this.kubeconfigPath})`);
  }

  private get shareDir(): string {
    return join(this.binDir, '..', 'share');
  }

  /**
   * Serves an aggregated API from a server on 127.0.0.1: an ExternalName Service (no Endpoints,
   * which may not hold loopback addresses) that the aggregator resolves to https://127.0.0.1:<port>,
   * and the APIService, which skips TLS verification as upstream's manifests do. Waits until the
   * API server reports the APIService Available, so discovery never fails on it afterwards.
   */
  private async registerAggregatedApi(name: string, namespace: string, service: string, port: number): Promise<void> {
    const client = await this.client();
    const [version, ...group] = name.split('.');
    if (!(await client.find(Namespaces, undefined, namespace))) await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    await client.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: service, namespace }, spec: { type: 'ExternalName', externalName: '127.0.0.1' } });
    await client.create({
      apiVersion: APIServices.apiVersion,
      kind: APIServices.kind,
      metadata: { name },
      spec: {
        group: group.join('.'),
        version,
        service: { name: service, namespace, port },
        insecureSkipTLSVerify: true,
        groupPriorityMinimum: 100,
        versionPriority: 100,
      },
    } as KubeObject);
    await this.waitForApiService(name);
  }

  /** Waits until an aggregated API answers through the API server. */
  async waitForApiService(name: string, timeoutMs = 60_000): Promise<void> {
    const client = await this.client();
    await this.guard(poll(`APIService ${name} to become Available`, timeoutMs, async () => hasCondition(await client.find<Conditioned>(APIServices, undefined, name), 'Available'), startupPoll));
  }

  /** KEDA's CRDs (server-side: one is too large for client-side apply), then its two servers. */
  private async startKeda(): Promise<void> {
    const crdDir = join(this.shareDir, 'keda', 'crds');
    const applied = await this.kubectl(['apply', '--server-side', '--force-conflicts', '-f', crdDir]);
    if (applied.code !== 0) throw new Error(`installing KEDA's CRDs from ${crdDir} failed: ${applied.stderr}`);
    const client = await this.client();
    const names = applied.stdout.split('\n').map((l) => /customresourcedefinition\.apiextensions\.k8s\.io\/(\S+)/.exec(l)?.[1]).filter((n): n is string => !!n);
    await this.guard(poll(`KEDA's CRDs (${names.join(', ')}) to become Established`, 60_000, async () => {
      for (const name of names) if (!hasCondition(await client.find<Conditioned>(CustomResourceDefinitions, undefined, name), 'Established')) return false;
      return true;
    }, startupPoll));
    const certs = join(this.stateDir, 'keda-certs');
    await mkdir(certs, { recursive: true });
    await issueLocalhostCertDir(this.pki!, certs);
    if (!(await client.find(Namespaces, undefined, 'keda'))) await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'keda' } });
    await Promise.all([this.startComponent('keda-operator'), this.startComponent('keda-adapter')]);
    await this.registerAggregatedApi(ExternalMetricsApiService, 'keda', 'keda-metrics-apiserver', this.ports.kedaAdapter);
  }

  /** Waits until pods can be created and run: nodes Ready and the default ServiceAccount there. */
  async waitForWorkloadReady(timeoutMs = 120_000): Promise<void> {
    const client = await this.client();
    const want = (this.options.nodes ?? defaultNodes).length;
    await this.guard(poll('the fake nodes to become Ready', timeoutMs, async () => {
      const nodes = await client.listAll<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(Nodes);
      const ready = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready.length >= want ? true : undefined;
    }, startupPoll));
    await this.guard(poll('the default ServiceAccount', timeoutMs, async () => (await client.find(ServiceAccounts, 'default', 'default')) ? true : undefined, startupPoll));
  }

  private componentSpec(name: ComponentName): { binary: string; args: string[]; env?: Record<string, string> } {
    const pki = this.pki!;
    const p = this.ports;
    const bin = (b: string) => join(this.binDir, b);
    const kubeconfig = this.kubeconfigPath;
    switch (name) {
      case 'etcd':
        return {
          binary: bin('etcd'),
          args: [
            '--name=node0',
            `--data-dir=${join(this.stateDir, 'etcd')}`,
            `--listen-client-urls=http://127.0.0.1:${p.etcd}`,
            `--advertise-client-urls=http://127.0.0.1:${p.etcd}`,
            `--listen-peer-urls=http://127.0.0.1:${p.etcdPeer}`,
            `--initial-advertise-peer-urls=http://127.0.0.1:${p.etcdPeer}`,
            `--initial-cluster=node0=http://127.0.0.1:${p.etcdPeer}`,
            '--unsafe-no-fsync=true',
            '--quota-backend-bytes=8589934592',
            '--log-level=warn',
          ],
        };
      case 'kube-apiserver':
        return {
          binary: bin('kube-apiserver'),
          args: [
            `--etcd-servers=http://127.0.0.1:${p.etcd}`,
            '--bind-address=127.0.0.1',
            '--advertise-address=127.0.0.1',
            `--secure-port=${p.apiserver}`,
            `--tls-cert-file=${pki.serverCert}`,
            `--tls-private-key-file=${pki.serverKey}`,
            `--client-ca-file=${pki.caCert}`,
            '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
            `--service-account-key-file=${pki.serviceAccountPub}`,
            `--service-account-signing-key-file=${pki.serviceAccountKey}`,
            '--authorization-mode=RBAC',
            // Added to the default plugins (this flag does not replace them). OpenShift and OKD
            // run with it: setting blockOwnerDeletion on a child needs `update` on its owner's
            // finalizers, so the operator's RBAC is tested as it would be used there.
            '--enable-admission-plugins=OwnerReferencesPermissionEnforcement',
            '--service-cluster-ip-range=10.96.0.0/16',
            '--allow-privileged=true',
            // The kubernetes Service cannot point at a loopback address; nothing here needs it.
            '--endpoint-reconciler-type=none',
            // The aggregation-layer settings fill extension-apiserver-authentication, which the
            // scheduler and controller manager read at start.
            `--requestheader-client-ca-file=${pki.caCert}`,
            `--proxy-client-cert-file=${pki.adminCert}`,
            `--proxy-client-key-file=${pki.adminKey}`,
            '--requestheader-allowed-names=aimodel-local-admin',
            '--requestheader-username-headers=X-Remote-User',
            '--requestheader-group-headers=X-Remote-Group',
            '--requestheader-extra-headers-prefix=X-Remote-Extra-',
            '--profiling=false',
            '--v=1',
            ...(this.options.apiServerArgs ?? []),
          ],
        };
      case 'kube-controller-manager':
        return {
          binary: bin('kube-controller-manager'),
          args: [
            `--kubeconfig=${kubeconfig}`,
            `--authentication-kubeconfig=${kubeconfig}`,
            `--authorization-kubeconfig=${kubeconfig}`,
            '--bind-address=127.0.0.1',
            `--secure-port=${p.kcm}`,
            '--leader-elect=false',
            `--root-ca-file=${pki.caCert}`,
            `--service-account-private-key-file=${pki.serviceAccountKey}`,
            // HPA timing for tests (the defaults are 15s, 5m, 5m and 30s): a load step shows in a
            // replica count within seconds. The tolerance (0.1) stays as in production.
            '--horizontal-pod-autoscaler-sync-period=5s',
            '--horizontal-pod-autoscaler-downscale-stabilization=15s',
            '--horizontal-pod-autoscaler-cpu-initialization-period=10s',
            '--horizontal-pod-autoscaler-initial-readiness-delay=5s',
            // Claims of the default StorageClass get a PersistentVolume (a directory under /tmp),
            // so a model whose weights live on a claim the operator creates can start here.
            '--enable-hostpath-provisioner=true',
            '--concurrent-deployment-syncs=10',
            '--concurrent-replicaset-syncs=10',
            '--concurrent-gc-syncs=40',
            '--kube-api-qps=200',
            '--kube-api-burst=400',
            '--v=1',
          ],
        };
      case 'kube-scheduler':
        return {
          binary: bin('kube-scheduler'),
          args: [
            `--kubeconfig=${kubeconfig}`,
            `--authentication-kubeconfig=${kubeconfig}`,
            `--authorization-kubeconfig=${kubeconfig}`,
            '--bind-address=127.0.0.1',
            `--secure-port=${p.scheduler}`,
            '--leader-elect=false',
            '--v=1',
          ],
        };
      case 'kwok':
        return {
          binary: bin('kwok'),
          args: [
            `--kubeconfig=${kubeconfig}`,
            '--manage-all-nodes=true',
            '--cidr=10.244.0.1/16',
            // Nodes report InternalIP 127.0.0.1 and Hostname localhost, and kwok's port as their
            // kubelet port: whoever dials a node reaches kwok, on loopback.
            '--node-ip=127.0.0.1',
            '--node-name=localhost',
            `--node-port=${p.kwok}`,
            `--server-address=127.0.0.1:${p.kwok}`,
            '--node-lease-duration-seconds=40',
            `--config=${join(this.stateDir, 'kwok.yaml')}`,
          ],
        };
      case 'metrics-server':
        return {
          binary: bin('metrics-server'),
          args: [
            `--kubeconfig=${kubeconfig}`,
            `--authentication-kubeconfig=${kubeconfig}`,
            `--authorization-kubeconfig=${kubeconfig}`,
            '--bind-address=127.0.0.1',
            `--secure-port=${p.metricsServer}`,
            `--tls-cert-file=${pki.serverCert}`,
            `--tls-private-key-file=${pki.serverKey}`,
            // Hostname first (localhost): the only node addresses here are loopback anyway.
            '--kubelet-preferred-address-types=Hostname,InternalIP',
            '--kubelet-use-node-status-port',
            '--kubelet-insecure-tls',
            // The shortest resolution it accepts; it must exceed the request timeout (default 10s).
            '--metric-resolution=10s',
            '--kubelet-request-timeout=5s',
            '--v=1',
          ],
        };
      case 'prometheus':
        return {
          binary: onPath('prometheus') ?? 'prometheus',
          args: [
            `--config.file=${join(this.stateDir, 'prometheus', 'prometheus.yaml')}`,
            `--storage.tsdb.path=${join(this.stateDir, 'prometheus', 'data')}`,
            `--web.listen-address=127.0.0.1:${p.prometheus}`,
            '--log.level=warn',
          ],
        };
      case 'keda-operator':
        return {
          binary: bin('keda-operator'),
          args: [
            `--metrics-bind-address=127.0.0.1:${p.kedaMetrics}`,
            `--health-probe-bind-address=127.0.0.1:${p.kedaHealth}`,
            `--metrics-service-bind-address=127.0.0.1:${p.kedaGrpc}`,
            `--cert-dir=${join(this.stateDir, 'keda-certs')}`,
            // Rotation would write a Secret and patch caBundles for in-cluster DNS names.
            '--enable-cert-rotation=false',
            '--leader-elect=false',
            '--zap-log-level=info',
          ],
          env: this.kedaEnv(),
        };
      case 'keda-adapter': {
        const certs = join(this.stateDir, 'keda-certs');
        return {
          binary: bin('keda-adapter'),
          args: [
            '--bind-address=127.0.0.1',
            `--secure-port=${p.kedaAdapter}`,
            `--cert-dir=${certs}`,
            `--tls-cert-file=${join(certs, 'tls.crt')}`,
            `--tls-private-key-file=${join(certs, 'tls.key')}`,
            `--authentication-kubeconfig=${kubeconfig}`,
            `--authorization-kubeconfig=${kubeconfig}`,
            `--lister-kubeconfig=${kubeconfig}`,
            // The operator's gRPC server, whose certificate names localhost.
            `--metrics-service-address=localhost:${p.kedaGrpc}`,
            // Its own /metrics, on every interface whatever the flags say: a free port at least.
            `--port=${p.kedaAdapterMetrics}`,
            '--v=1',
          ],
          env: this.kedaEnv(),
        };
      }
    }
  }

  /** KEDA outside a pod: all namespaces watched, its own objects in `keda`, the admin kubeconfig. */
  private kedaEnv(): Record<string, string> {
    return { WATCH_NAMESPACE: '', KEDA_CLUSTER_OBJECT_NAMESPACE: 'keda', POD_NAMESPACE: 'keda', KUBECONFIG: this.kubeconfigPath };
  }

  /** Starts one component and waits until it is healthy. */
  async startComponent(name: ComponentName): Promise<void> {
    const spec = this.componentSpec(name);
    const proc = new ComponentProcess({ name, ...spec, logFile: join(this.stateDir, 'logs', `${name}.log`) });
    this.components.set(name, proc);
    proc.start();
    await this.register();
    const client = name === 'etcd' ? undefined : await this.client();
    const healthy = async (): Promise<true | undefined> => {
      if (name === 'etcd') {
        const res = await fetch(`http://127.0.0.1:${this.ports.etcd}/health`);
        return res.ok ? true : undefined;
      }
      if (name === 'kube-apiserver') {
        await client!.request({ method: 'GET', path: '/readyz' });
        return true;
      }
      // Serving: the APIService turns Available at its first check, with no backoff to wait out.
      if (name === 'metrics-server') return (await insecureGetStatus(`https://127.0.0.1:${this.ports.metricsServer}/livez`)) === 200 || undefined;
      if (name === 'keda-adapter') return (await insecureGetStatus(`https://127.0.0.1:${this.ports.kedaAdapter}/livez`)) === 200 || undefined;
      if (name === 'prometheus') return (await fetch(`${this.prometheusUrl}/-/ready`)).ok || undefined;
      if (name === 'keda-operator') return (await fetch(`http://127.0.0.1:${this.ports.kedaHealth}/readyz`)).ok || undefined;
      return true;
    };
    await this.guard(poll(`${name} to become healthy`, 60_000, healthy, startupPoll));
  }

  async stopComponent(name: ComponentName, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const proc = this.components.get(name);
    if (!proc) return;
    if (signal === 'SIGKILL') await proc.kill();
    else await proc.stop();
  }

  /** Races a wait against any component dying; on failure, shows the tails of the component logs. */
  private async guard<T>(wait: Promise<T>): Promise<T> {
    const died = Promise.race(
      [...this.components.values()].map((proc) =>
        proc.unexpectedExit().then((code) => {
          throw new Error(`${proc.spec.name} exited with code ${code}`);
        }),
      ),
    );
    try {
      return await Promise.race([wait, died]);
    } catch (err) {
      const tails = await Promise.all(
        [...this.components.values()].map(async (c) => `--- ${c.spec.name} (${c.spec.logFile}) ---\n${await c.logTail(20)}`),
      );
      throw new Error(`${(err as Error).message}\n${tails.join('\n')}`);
    }
  }

  private async register(): Promise<void> {
    await mkdir(registryDir, { recursive: true });
    const pids = [...this.components.values()].map((c) => c.pid).filter((p): p is number => p !== undefined);
    await writeFile(this.registryFile, JSON.stringify({ owner: process.pid, pids, stateDir: this.stateDir, keep: this.options.keepState ?? false }));
  }

  /** Process ids of the running components. */
  pids(): Record<string, number> {
    const pids: Record<string, number> = {};
    for (const [name, proc] of this.components) if (proc.pid !== undefined && proc.running) pids[name] = proc.pid;
    return pids;
  }

  /** The pinned kubectl against this cluster. */
  async kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return runKubectl(this.binDir, this.kubeconfigPath, args, input);
  }

  async stop(): Promise<void> {
    await this.admin?.close().catch(() => {});
    this.admin = undefined;
    const order: ComponentName[] = ['keda-adapter', 'keda-operator', 'prometheus', 'metrics-server', 'kwok', 'kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'];
    for (const name of order) await this.components.get(name)?.stop();
    this.components.clear();
    if (!this.options.keepState) await rm(this.stateDir, { recursive: true, force: true });
    await rm(this.registryFile, { force: true });
  }
}

export async function runKubectl(
  binDir: string,
  kubeconfig: string,
  args: string[],
  input?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(join(binDir, 'kubectl'), [`--kubeconfig=${kubeconfig}`, ...args], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (err as { code?: number | string }).code : 0;
      // A spawn failure (ENOENT) has a string code and nothing on stderr: say what failed.
      const spawnError = typeof code === 'string' ? `cannot run ${join(binDir, 'kubectl')}: ${err!.message}` : '';
      resolve({ code: typeof code === 'number' ? code : 1, stdout: String(stdout), stderr: String(stderr) || spawnError });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

