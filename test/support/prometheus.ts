// Debian's Prometheus as the real scraper of a test: started on a free loopback port with the
// configuration the test writes, and handed back once it answers /-/ready.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { vi } from 'vitest';
import { dump } from 'js-yaml';
import { freePort } from '../../hack/localcluster/process.ts';

export async function startPrometheus(dataDir: string, config: object): Promise<{ url: string; process: ChildProcess }> {
  await writeFile(join(dataDir, 'prometheus.yaml'), dump(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const process = spawn(
    'prometheus',
    [`--config.file=${join(dataDir, 'prometheus.yaml')}`, `--storage.tsdb.path=${join(dataDir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: 'ignore' },
  );
  const spawned = await new Promise<Error | undefined>((resolve) => {
    process.once('spawn', () => resolve(undefined));
    process.once('error', resolve);
  });
  if (spawned) throw new Error(`cannot run prometheus (Debian package "prometheus"; hack/prerequisites.sh installs it): ${spawned.message}`);
  await vi.waitFor(
    async () => {
      const res = await fetch(`${url}/-/ready`);
      if (res.status !== 200) throw new Error(`prometheus not ready: ${res.status}`);
    },
    { timeout: 30_000, interval: 200 },
  );
  return { url, process };
}
