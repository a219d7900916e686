// `npm start` on a machine with no cluster: start the local development cluster, install the
// CRD and a sample AIModel, so a newcomer sees the operator work with one command. It serves
// metrics.k8s.io (the sample's CPU autoscaling works); AIMODEL_LOCAL_KEDA=1 adds KEDA and
// Prometheus (engine-signal autoscaling), as `npm run cluster:up -- --keda` does.
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../src/runtime/logger.ts';
import { binDir, exportLine, kubeconfigPath, up } from './background.ts';
import { runKubectl } from './cluster.ts';

const sample = fileURLToPath(new URL('../../config/samples/aimodel-seed.yaml', import.meta.url));

export async function startLocalDevelopmentCluster(log: Logger): Promise<string> {
  log.info({}, 'no kubeconfig found: starting the local development cluster (npm run cluster:down removes it)');
  await up({ keda: process.env.AIMODEL_LOCAL_KEDA === '1' }); // installs the CRD too
  const args = ['apply', '--server-side', '-f', sample];
  const result = await runKubectl(binDir, kubeconfigPath, args);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr.trim()}`);
  log.info(
    { kubeconfig: kubeconfigPath },
    `local cluster ready with the CRD and the sample AIModel gpt-4o-agent installed; in another shell: ${exportLine()} && kubectl get aim -w`,
  );
  return kubeconfigPath;
}
