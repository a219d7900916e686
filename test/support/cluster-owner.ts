// A process that owns a local cluster and is killed by a test: prints the component pids and
// the API server address as one JSON line, then waits.
import { LocalCluster } from '../../hack/localcluster/cluster.ts';

const cluster = await LocalCluster.start({ stateDir: process.argv[2]!, log: () => {} });
process.stdout.write(`${JSON.stringify({ pids: cluster.pids(), server: cluster.server })}\n`);
setInterval(() => {}, 1 << 30);
