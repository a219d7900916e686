// `npm start`: the operator as a developer runs it from a checkout. With no kubeconfig at all it
// first brings up the local development cluster (CRD and a sample installed), so a newcomer sees
// the operator work with one command. The production entry point (src/main.ts, the image's) never
// starts a cluster: that code lives here, in the development tooling, and is not in the image.
import { parseConfig } from '../src/config/config.ts';
import { hasAnyKubeconfig } from '../src/operator.ts';
import { createLogger } from '../src/logging.ts';

const argv = process.argv.slice(2);
try {
  const config = parseConfig(argv, process.env);
  if (!config.help && !config.version && !hasAnyKubeconfig(config)) {
    const { startLocalDevelopmentCluster } = await import('./localcluster/dev.ts');
    process.env.KUBECONFIG = await startLocalDevelopmentCluster(createLogger(config.logLevel, config.logFormat));
  }
} catch {
  // Bad flags: the operator itself reports them, with the flag and the accepted form.
}
await import('../src/main.ts');
