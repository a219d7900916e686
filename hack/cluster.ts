// npm run cluster:up | cluster:down
import { down, exportLine, up } from './localcluster/background.ts';

const command = process.argv[2];
if (command === 'up') {
  await up();
  // Last line: for `eval "$(npm run -s cluster:up | tail -1)"`.
  process.stdout.write(`${exportLine()}\n`);
} else if (command === 'down') {
  await down();
  process.stderr.write('[cluster] stopped and removed\n');
} else {
  process.stderr.write('usage: node hack/cluster.ts up|down\n');
  process.exit(2);
}
