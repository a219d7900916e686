// One real control plane for the whole integration run: the one `npm run cluster:up` started,
// or a fresh one in a temporary folder that is stopped when the run ends.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureComponents, LocalCluster } from '../../hack/localcluster/cluster.ts';
import { backgroundClusterReady, binDir, kubeconfigPath } from '../../hack/localcluster/background.ts';
import { installAIModelCRD } from '../../hack/localcluster/crd.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfigPath: string;
    binDir: string;
  }
}

let cluster: LocalCluster | undefined;

export async function setup(project: TestProject): Promise<void> {
  let kubeconfig = kubeconfigPath;
  let bin = binDir;
  if (await backgroundClusterReady()) {
    process.stderr.write(`[test] using the running cluster from npm run cluster:up (${kubeconfigPath})\n`);
  } else {
    // KEDA too, though the shared cluster does not run it: the KEDA test's own cluster needs it,
    // and its first build (minutes of both cores) would otherwise starve the tests running beside it.
    await ensureComponents(undefined, ['keda']);
    cluster = await LocalCluster.start({ stateDir: await mkdtemp(join(tmpdir(), 'aimodel-test-cluster-')) });
    kubeconfig = cluster.kubeconfigPath;
    bin = cluster.binDir;
  }
  // Tests always run against the CRD of this checkout.
  await installAIModelCRD(bin, kubeconfig);
  project.provide('kubeconfigPath', kubeconfig);
  project.provide('binDir', bin);
}

export async function teardown(): Promise<void> {
  await cluster?.stop();
}
