// Two operator replicas against one cluster: one leads, the other stands by and takes over when
// the leader dies (lease expiry) or steps down (lease released on SIGTERM).
import { beforeAll, describe, expect, it } from 'vitest';
import { AIModels } from '../../src/controllers/aimodel/setup.ts';
import { Leases } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { useTestCluster } from '../support/cluster.ts';
import type { TestCluster } from '../support/cluster.ts';
import { OperatorProcess } from '../support/operator-process.ts';
import type { LogLine } from '../support/operator-process.ts';
import { waitForList, waitForObject } from '../support/wait.ts';

type Lease = KubeObject & { spec: { holderIdentity?: string; acquireTime?: string; renewTime?: string; leaseDurationSeconds?: number; leaseTransitions?: number } };
type Model = KubeObject & { status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] } };

const leaseName = 'aimodel-operator-leader';
/** 1 while the process leads, 0 while it stands by. */
const leaderStatus = (p: OperatorProcess) => p.metric('leader_election_master_status', { name: leaseName });
const ready = (m: Model) => m.status?.observedGeneration === m.metadata.generation && !!m.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
const micro = (t: string | undefined) => Date.parse(t ?? '');

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await useTestCluster();
});

async function replicas(ns: string, flags: string[] = []): Promise<[OperatorProcess, OperatorProcess]> {
  const options = { kubeconfig: cluster.kubeconfigPath, namespaces: [ns], leaderElect: true, leaderElectNamespace: ns, flags };
  return [await OperatorProcess.start(options), await OperatorProcess.start(options)];
}

async function leaderOf(ns: string, procs: OperatorProcess[]): Promise<{ leader: OperatorProcess; follower: OperatorProcess; lease: Lease }> {
  const lease = (await waitForObject<Lease>(cluster.client, Leases, ns, leaseName, (l) => !!l?.spec.holderIdentity))!;
  // The holder's own metric says it leads; the other says it does not.
  await expect.poll(async () => (await Promise.all(procs.map(leaderStatus))).sort().join(','), { timeout: 20_000 }).toBe('0,1');
  const statuses = await Promise.all(procs.map(leaderStatus));
  const leader = procs[statuses.indexOf(1)]!;
  return { leader, follower: procs.find((p) => p !== leader)!, lease };
}

function models(ns: string, n: number, prefix: string) {
  return Array.from({ length: n }, (_, i) => ({
    apiVersion: 'ai.openai.com/v1',
    kind: 'AIModel',
    metadata: { name: `${prefix}-${i}`, namespace: ns },
    spec: { model: `${prefix}-${i}`, replicas: 1 },
  }));
}

const applied = (l: LogLine) => l.msg === 'applied child';

describe('leader election', () => {
  it('lets exactly one replica reconcile, and the other takes over within lease duration + retry period after SIGKILL', async () => {
    const ns = await cluster.newNamespace();
    const procs = await replicas(ns);
    const { leader, follower, lease } = await leaderOf(ns, procs);
    await Promise.all(models(ns, 3, 'a').map((m) => cluster.client.create(m)));
    await waitForList<Model>(cluster.client, AIModels, (l) => l.length === 3 && l.every(ready), { namespace: ns });
    expect(leader.logs.filter(applied).length).toBeGreaterThan(0);
    expect(follower.logs.filter(applied)).toEqual([]);
    const patches = async (p: OperatorProcess) => (await p.metrics()).filter((s) => s.name === 'rest_client_requests_total' && s.labels.method === 'PATCH');
    expect((await patches(leader)).length).toBeGreaterThan(0);
    expect(await patches(follower)).toEqual([]);

    await leader.kill('SIGKILL');
    // The lease as the dead leader left it: its last renewal, read after the kill so that a
    // renewal between a read and the kill cannot make the gap look longer than it was.
    const before = (await cluster.client.get<Lease>(Leases, ns, leaseName)).spec;
    const taken = (await waitForObject<Lease>(cluster.client, Leases, ns, leaseName, (l) => !!l && l.spec.holderIdentity !== lease.spec.holderIdentity && !!l.spec.holderIdentity, { timeoutMs: 40_000 }))!;
    // The follower may only take an expired lease: at least the lease duration after the last
    // renewal. It notices that renewal at its next poll (up to one retry period later, 2 s by
    // default), and takes the lease at the first poll after the lease duration has passed since
    // then (up to another retry period): at most 15 s + 2 × 2 s.
    const gapMs = micro(taken.spec.acquireTime) - micro(before.renewTime);
    expect(gapMs).toBeGreaterThanOrEqual(15_000 - 2_000);
    // Both times are written by processes sharing two loaded cores: allow 3 s of scheduling delay.
    expect(gapMs).toBeLessThanOrEqual(15_000 + 2 * 2_000 + 3_000);
    expect(taken.spec.leaseTransitions).toBe((before.leaseTransitions ?? 0) + 1);
    await expect.poll(() => leaderStatus(follower), { timeout: 10_000 }).toBe(1);

    // The new leader picks up work: a change made now is reconciled.
    await cluster.client.create(models(ns, 1, 'after-kill')[0]!);
    await waitForObject<Model>(cluster.client, AIModels, ns, 'after-kill-0', (m) => !!m && ready(m));
    const firstNewWrite = Math.min(...follower.logs.filter(applied).map((l) => Date.parse(l.time)));
    const lastOldWrite = Math.max(...leader.logs.filter(applied).map((l) => Date.parse(l.time)));
    expect(firstNewWrite).toBeGreaterThan(lastOldWrite);
    expect((await follower.kill('SIGTERM')).code).toBe(0);
  });

  it('hands over within one retry period when the leader is stopped with SIGTERM and releases the lease', async () => {
    const ns = await cluster.newNamespace();
    const procs = await replicas(ns);
    const { leader, follower, lease } = await leaderOf(ns, procs);

    const released: Lease[] = [];
    const stop = new AbortController();
    const list = await cluster.client.list<Lease>(Leases, { namespace: ns });
    const watching = cluster.client
      .watch<Lease>(Leases, { namespace: ns, resourceVersion: list.metadata!.resourceVersion!, signal: stop.signal }, (e) => {
        if (e.type === 'MODIFIED' && !e.object.spec.holderIdentity) released.push(e.object);
      })
      .catch(() => {});
    expect((await leader.kill('SIGTERM')).code).toBe(0);
    const taken = (await waitForObject<Lease>(cluster.client, Leases, ns, leaseName, (l) => !!l?.spec.holderIdentity && l.spec.holderIdentity !== lease.spec.holderIdentity))!;
    stop.abort();
    await watching;
    expect(released).toHaveLength(1);
    // Released, not expired: the follower acquires at its next retry (2 s), not after 15 s.
    const gapMs = micro(taken.spec.acquireTime) - micro(released[0]!.spec.renewTime);
    expect(gapMs).toBeLessThanOrEqual(3_000 + 2_000);
    await expect.poll(() => leaderStatus(follower), { timeout: 10_000 }).toBe(1);
    expect((await follower.kill('SIGTERM')).code).toBe(0);
  });

  it('exits 0 within the grace period when stopped during a burst of 200 reconciles, and the next leader converges everything', async () => {
    const ns = await cluster.newNamespace();
    const procs = await replicas(ns, ['--graceful-shutdown-timeout=10s', '--workers=4']);
    const { leader, follower } = await leaderOf(ns, procs);
    const burst = models(ns, 200, 'burst');
    await Promise.all(burst.map((m) => cluster.client.create(m)));
    // Stop mid-burst: some models reconciled, most still queued.
    await leader.waitForLog(applied);
    // A drain that overran --graceful-shutdown-timeout would exit non-zero.
    expect((await leader.kill('SIGTERM')).code).toBe(0);
    expect(leader.logs.some((l) => l.msg === 'stopped')).toBe(true);
    await waitForList<Model>(cluster.client, AIModels, (l) => l.length === 200 && l.every(ready), { namespace: ns, timeoutMs: 240_000, description: '200 Ready models' });
    expect(follower.logs.filter(applied).length).toBeGreaterThan(0);
    expect((await follower.kill('SIGTERM')).code).toBe(0);
  });
});
