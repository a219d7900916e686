// `npm run cluster:up -- --keda`: the background cluster with KEDA and Prometheus, for trying
// engine-signal autoscaling by hand. Run in a folder of its own ($AIMODEL_CLUSTER_DIR), never the
// checkout's .cluster/ that a developer may be using.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { binDir } from '../../hack/localcluster/background.ts';
import { runKubectl } from '../../hack/localcluster/cluster.ts';

const clusterCommand = fileURLToPath(new URL('../../hack/cluster.ts', import.meta.url));
const clusterDir = await mkdtemp(join(tmpdir(), 'aimodel-cluster-up-keda-'));

function cluster(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [clusterCommand, ...args], { env: { ...process.env, AIMODEL_CLUSTER_DIR: clusterDir } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

afterAll(async () => {
  await cluster('down');
});

describe('npm run cluster:up -- --keda', () => {
  it('refuses an argument it does not know', async () => {
    const bad = await cluster('up', '--kedaa');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--kedaa');
  });

  it('starts the background cluster with KEDA serving external metrics, and says where Prometheus is', async () => {
    const up = await cluster('up', '--keda');
    expect(up.code, up.stderr).toBe(0);
    const info = JSON.parse(await readFile(join(clusterDir, 'cluster.json'), 'utf8')) as { keda: boolean; prometheusUrl: string };
    expect(info.keda).toBe(true);
    expect(up.stderr).toContain(`Prometheus: ${info.prometheusUrl}`);
    expect((await fetch(`${info.prometheusUrl}/-/ready`)).ok).toBe(true);
    const kubeconfig = join(clusterDir, 'kubeconfig');
    for (const apiService of ['v1beta1.external.metrics.k8s.io', 'v1beta1.metrics.k8s.io']) {
      const available = await runKubectl(binDir, kubeconfig, ['get', 'apiservice', apiService, '-o', 'jsonpath={.status.conditions[?(@.type=="Available")].status}']);
      expect(available.stderr).toBe('');
      expect(available.stdout).toBe('True');
    }
    const crd = await runKubectl(binDir, kubeconfig, ['get', 'crd', 'scaledobjects.keda.sh', '-o', 'name']);
    expect(crd.stdout.trim()).toBe('customresourcedefinition.apiextensions.k8s.io/scaledobjects.keda.sh');

    // A plain `up` afterwards keeps the cluster with KEDA.
    const again = await cluster('up');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('reusing the running cluster');
  }, 300_000);
});
