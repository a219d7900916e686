// `npm run cluster:up` / `cluster:down`: one background cluster per checkout, in .cluster/
// (or in $AIMODEL_CLUSTER_DIR, which lets a test run the command without touching that one),
// with the checkout's AIModel CRD installed. `cluster:up -- --keda` adds KEDA and Prometheus.
import { spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { readFile, rm, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client.ts';
import { cacheDir } from './cluster.ts';
import { installAIModelCRD } from './crd.ts';
import { isAlive } from './process.ts';

export const clusterDir = resolve(process.env.AIMODEL_CLUSTER_DIR || fileURLToPath(new URL('../../.cluster', import.meta.url)));
export const kubeconfigPath = join(clusterDir, 'kubeconfig');
export const binDir = join(cacheDir, 'bin');
const pidFile = join(clusterDir, 'supervisor.pid');
const infoFile = join(clusterDir, 'cluster.json');

export interface BackgroundClusterInfo {
  server: string;
  keda: boolean;
  prometheusUrl?: string;
}

/** What the running background cluster started with; undefined when none runs. */
export async function backgroundClusterInfo(): Promise<BackgroundClusterInfo | undefined> {
  if (!(await backgroundClusterReady())) return undefined;
  return JSON.parse(await readFile(infoFile, 'utf8').catch(() => '{"server":"","keda":false}')) as BackgroundClusterInfo;
}
const supervisor = fileURLToPath(new URL('./supervisor.ts', import.meta.url));

async function supervisorPid(): Promise<number | undefined> {
  const pid = Number(await readFile(pidFile, 'utf8').catch(() => ''));
  return pid && isAlive(pid) ? pid : undefined;
}

/** True when the background cluster is running and answers /readyz. */
export async function backgroundClusterReady(): Promise<boolean> {
  if (!(await supervisorPid()) || !existsSync(join(clusterDir, 'ready'))) return false;
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const client = await KubeClient.fromKubeConfig(kc);
    try {
      await client.request({ method: 'GET', path: '/readyz' });
      return true;
    } finally {
      await client.close();
    }
  } catch {
    return false;
  }
}

/**
 * Starts the background cluster, or reuses the running one, and installs (or updates) the
 * checkout's AIModel CRD in it: without it the operator has nothing to watch. With keda, a
 * running cluster without KEDA is replaced by one with it (a running one with KEDA serves either).
 */
export async function up(options: { keda?: boolean } = {}): Promise<BackgroundClusterInfo> {
  const running = await backgroundClusterInfo();
  if (running && (running.keda || !options.keda)) process.stderr.write(`[cluster] reusing the running cluster (${kubeconfigPath})\n`);
  else {
    if (running) process.stderr.write('[cluster] the running cluster has no KEDA: replacing it\n');
    await start(options.keda ?? false);
  }
  await installAIModelCRD(binDir, kubeconfigPath);
  process.stderr.write('[cluster] AIModel CRD installed from crds/\n');
  const info = (await backgroundClusterInfo())!;
  if (info.keda) process.stderr.write(`[cluster] KEDA serves external.metrics.k8s.io; Prometheus: ${info.prometheusUrl}\n`);
  return info;
}

async function start(keda: boolean): Promise<void> {
  await down();
  await mkdir(clusterDir, { recursive: true });
  const logFile = join(clusterDir, 'supervisor.log');
  const out = openSync(logFile, 'w');
  const child = spawn(process.execPath, [supervisor, clusterDir, ...(keda ? ['--keda'] : [])], { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  const { writeFile } = await import('node:fs/promises');
  await writeFile(pidFile, String(child.pid));
  const started = Date.now();
  let shown = 0;
  // The supervisor builds components on first use, which takes minutes: relay its progress.
  for (;;) {
    const log = await readFile(logFile, 'utf8').catch(() => '');
    process.stderr.write(log.slice(shown));
    shown = log.length;
    if (existsSync(join(clusterDir, 'ready'))) break;
    if (!isAlive(child.pid!)) throw new Error(`the cluster failed to start; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  process.stderr.write(`[cluster] up in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

export async function down(): Promise<void> {
  const pid = await supervisorPid();
  if (pid) {
    process.kill(pid, 'SIGTERM');
    while (isAlive(pid)) await new Promise((r) => setTimeout(r, 100));
  }
  await rm(clusterDir, { recursive: true, force: true });
}

export function exportLine(): string {
  return `export KUBECONFIG=${kubeconfigPath} PATH=${binDir}:$PATH`;
}
