// Keeps a local cluster running in the background for `npm run cluster:up` until SIGTERM.
// Arguments: <cluster dir> [--keda]. Writes what it started to <cluster dir>/cluster.json.
import { copyFile, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalCluster } from './cluster.ts';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: supervisor.ts <cluster dir>\n');
  process.exit(2);
}
const keda = process.argv.includes('--keda');
const cluster = await LocalCluster.start({ stateDir: join(dir, 'state'), keda });
await copyFile(cluster.kubeconfigPath, join(dir, 'kubeconfig'));
await writeFile(join(dir, 'cluster.json'), `${JSON.stringify({ server: cluster.server, keda: cluster.keda, prometheusUrl: cluster.prometheusUrl })}\n`);
await writeFile(join(dir, 'ready'), `${cluster.server}\n`);

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await rm(join(dir!, 'ready'), { force: true });
  await cluster.stop();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
// Keep the event loop alive: the components are children of this process.
setInterval(() => {}, 1 << 30);
