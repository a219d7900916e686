// Clusters on one machine do not collide, and a killed owner leaves no component behind.
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Nodes, PersistentVolumeClaims } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { LocalCluster } from '../../hack/localcluster/cluster.ts';
import { isAlive } from '../../hack/localcluster/process.ts';
import { useTestCluster } from '../support/cluster.ts';
import { waitForList } from '../support/wait.ts';

const owner = fileURLToPath(new URL('../support/cluster-owner.ts', import.meta.url));

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

describe('local clusters', () => {
  it('provision a volume for a claim that names no StorageClass', async () => {
    const cluster = await useTestCluster();
    const ns = await cluster.newNamespace();
    await cluster.client.create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'weights', namespace: ns }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
    const [claim] = await waitForList<KubeObject & { spec?: { storageClassName?: string; volumeName?: string }; status?: { phase?: string } }>(
      cluster.client,
      PersistentVolumeClaims,
      (l) => l[0]?.status?.phase === 'Bound',
      { namespace: ns, description: 'the claim Bound' },
    );
    expect(claim?.spec?.storageClassName).toBe('standard');
    expect(claim?.spec?.volumeName).toMatch(/^pvc-/);
  });

  it('run side by side on their own ports and state', async () => {
    const shared = await useTestCluster();
    const second = await LocalCluster.start({ stateDir: await mkdtemp(join(tmpdir(), 'aimodel-second-')), log: () => {} });
    try {
      expect(second.server).not.toBe(shared.kubeConfig.getCurrentCluster()!.server);
      const client = await second.client();
      const version = await client.request<{ gitVersion: string }>({ method: 'GET', path: '/version' });
      expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
      // Objects in one do not appear in the other.
      const ns = await shared.newNamespace();
      expect((await client.request<{ items: { metadata: { name: string } }[] }>({ method: 'GET', path: '/api/v1/namespaces' })).items.map((n) => n.metadata.name)).not.toContain(ns);
      expect((await client.listAll(Nodes)).length).toBe(4);
    } finally {
      await second.stop();
    }
    expect(Object.keys(second.pids())).toEqual([]);
  });

  it('leaves no process holding ports when its owner is killed', async () => {
    const child = spawn(process.execPath, [owner, await mkdtemp(join(tmpdir(), 'aimodel-killed-'))], { stdio: ['ignore', 'pipe', 'inherit'] });
    const started = await new Promise<{ pids: Record<string, number>; server: string }>((resolve, reject) => {
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
      });
      child.once('exit', (code) => reject(new Error(`cluster owner exited with ${code} before the cluster was up`)));
    });
    const pids = Object.values(started.pids);
    expect(pids).toHaveLength(6); // etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok, metrics-server
    expect(pids.every(isAlive)).toBe(true);
    child.kill('SIGKILL');
    // The kernel delivers each component's parent-death signal.
    await expect.poll(() => pids.filter(isAlive), { timeout: 15_000 }).toEqual([]);
    expect(await portIsFree(Number(new URL(started.server).port))).toBe(true);
  });
});
