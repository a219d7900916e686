// The AIModel CRD of this checkout, installed into a local cluster: by `npm run cluster:up`, by
// `npm start` without a cluster, and by the test run, so each of them serves AIModels.
import { fileURLToPath } from 'node:url';
import { runKubectl } from './cluster.ts';

export const crdDir = fileURLToPath(new URL('../../crds/', import.meta.url));
export const aimodelCRDName = 'aimodels.ai.openai.com';

/** Applies crds/ (taking over fields another manager set) and waits until the API server serves it. */
export async function installAIModelCRD(binDir: string, kubeconfig: string): Promise<void> {
  for (const args of [
    ['apply', '--server-side', '--force-conflicts', '-f', crdDir],
    ['wait', '--for=condition=Established', '--timeout=60s', `crd/${aimodelCRDName}`],
  ]) {
    const result = await runKubectl(binDir, kubeconfig, args);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr.trim()}`);
  }
}
