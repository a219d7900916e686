// npm run cluster:up [-- --keda] | cluster:down
import { down, exportLine, up } from './localcluster/background.ts';

const command = process.argv[2];
const flags = process.argv.slice(3);
const unknown = flags.filter((f) => f !== '--keda');
if (unknown.length > 0 || (command === 'down' && flags.length > 0)) {
  process.stderr.write(`unknown argument ${[...unknown, ...flags].join(' ')}; usage: node hack/cluster.ts up [--keda] | down\n`);
  process.exit(2);
}
if (command === 'up') {
  // --keda: KEDA's operator and metrics adapter and Prometheus too (the first use builds KEDA).
  await up({ keda: flags.includes('--keda') });
  // Last line: for `eval "$(npm run -s cluster:up | tail -1)"`.
  process.stdout.write(`${exportLine()}\n`);
} else if (command === 'down') {
  await down();
  process.stderr.write('[cluster] stopped and removed\n');
} else {
  process.stderr.write('usage: node hack/cluster.ts up [--keda] | down\n');
  process.exit(2);
}
