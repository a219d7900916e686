// The README's cluster route: `npm run cluster:up` gives a cluster that already serves AIModels,
// so `npm start` against it has something to watch. Run in a folder of its own
// ($AIMODEL_CLUSTER_DIR), never the checkout's .cluster/ that a developer may be using.
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { binDir } from '../../hack/localcluster/background.ts';
import { runKubectl } from '../../hack/localcluster/cluster.ts';

const clusterCommand = fileURLToPath(new URL('../../hack/cluster.ts', import.meta.url));
const clusterDir = await mkdtemp(join(tmpdir(), 'aimodel-cluster-up-'));

function cluster(command: 'up' | 'down'): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [clusterCommand, command], { env: { ...process.env, AIMODEL_CLUSTER_DIR: clusterDir } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

afterAll(async () => {
  await cluster('down');
});

describe('npm run cluster:up', () => {
  it('starts a cluster with the AIModel CRD installed and established', async () => {
    const up = await cluster('up');
    expect(up.code, up.stderr).toBe(0);
    const kubeconfig = join(clusterDir, 'kubeconfig');
    expect(up.stdout.trim().split('\n').at(-1)).toBe(`export KUBECONFIG=${kubeconfig} PATH=${binDir}:$PATH`);

    const established = await runKubectl(binDir, kubeconfig, ['get', 'crd', 'aimodels.ai.openai.com', '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']);
    expect(established.stderr).toBe('');
    expect(established.stdout).toBe('True');
    const models = await runKubectl(binDir, kubeconfig, ['get', 'aim', '--all-namespaces']);
    expect(models.stderr).toMatch(/^No resources found/);
    expect(models.code).toBe(0);
  }, 300_000);
});
