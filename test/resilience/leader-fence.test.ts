// Scenario 10: leadership fences every write. Leader A reaches the API server through a proxy,
// standby B directly. The proxy stops carrying A's requests (A still hears its watches, so it
// sees a model change and starts writing, but nothing it sends arrives and its renewals stall);
// B takes the lease and converges the change. Then the link comes back, delivering whatever A
// still had open. The API server's audit log, where A's requests stand apart by the proxy's
// source address, must show no write by A received after A's renew deadline. Then the leader is
// stopped with SIGTERM: no write of its may arrive after its Lease release.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AIModels } from '../../src/controllers/aimodel/setup.ts';
import { Deployments, Leases } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { poll } from '../../hack/localcluster/cluster.ts';
import type { LogLine, OperatorProcess } from '../support/operator-process.ts';
import { isWrite } from '../support/resilience/audit.ts';
import type { AuditEvent } from '../support/resilience/audit.ts';
import { operatorNamespace, operatorUser } from '../support/resilience/cluster.ts';
import { createModels, variedModel, waitConverged } from '../support/resilience/convergence.ts';
import type { Obj } from '../support/resilience/convergence.ts';
import { useLedger } from '../support/resilience/ledger.ts';
import { PartitionProxy } from '../support/resilience/proxy.ts';
import { useResilienceScenario } from '../support/resilience/scenario.ts';

// The leader-failover scenario's lease: the defaults' ratios, in seconds rather than tens.
const LEASE_DURATION_MS = 6_000;
const RENEW_DEADLINE_MS = 4_000;
const RETRY_PERIOD_MS = 1_000;
const LEASE = [
  `--leader-elect-lease-duration=${LEASE_DURATION_MS / 1000}s`,
  `--leader-elect-renew-deadline=${RENEW_DEADLINE_MS / 1000}s`,
  `--leader-elect-retry-period=${RETRY_PERIOD_MS / 1000}s`,
];
const LEASE_NAME = 'aimodel-operator-leader';
/** The proxy connects to the API server from here, so A's requests are told apart in the audit log. */
const A_ADDRESS = '127.0.0.2';
const MODELS = 10;

const ledger = useLedger('10 leadership fences every write');
const scenario = useResilienceScenario({ namespaces: ['fence'] });
let proxy: PartitionProxy;
let kubeconfigA: string;

beforeAll(async () => {
  const server = new URL(scenario.cluster.local.server);
  proxy = await PartitionProxy.start({ host: server.hostname, port: Number(server.port) }, { localAddress: A_ADDRESS });
  kubeconfigA = await scenario.cluster.operatorKubeconfig({ server: proxy.url });
});

afterAll(async () => {
  await Promise.all(scenario.operators.map((p) => p.kill('SIGTERM')));
  await proxy?.close();
});

const startedLeading = (l: LogLine): boolean => l.msg === 'acquired lease; started leading';
const stoppedLeading = (l: LogLine): boolean => l.msg === 'failed to renew lease within renewDeadline; stopped leading';

async function leaseHolder(): Promise<string | undefined> {
  const lease = await scenario.cluster.client.find<KubeObject & { spec: { holderIdentity?: string } }>(Leases, operatorNamespace, LEASE_NAME);
  return lease?.spec.holderIdentity;
}

/** The operator processes' requests, by the path they came on: through the proxy (A) or not. */
async function operatorRequests(path: 'proxied' | 'direct'): Promise<AuditEvent[]> {
  const all = await scenario.cluster.audit.byOperator(operatorUser);
  return all.filter((e) => (e.sourceIPs?.[0] === A_ADDRESS) === (path === 'proxied'));
}

const isLeaseWrite = (e: AuditEvent): boolean => isWrite(e) && e.objectRef?.resource === 'leases' && e.objectRef.name === LEASE_NAME;
const describeRequest = (e: AuditEvent): string =>
  `${e.requestReceivedTimestamp} ${e.verb} ${e.objectRef?.resource}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''} ${e.objectRef?.name ?? ''} -> ${e.responseStatus?.code}`;

describe('a leader cut off from the API server, then a leader stopped', () => {
  let a: OperatorProcess;
  let b: OperatorProcess;
  let identityB = '';

  it('the cut-off leader stops writing by its renew deadline, and the new leader converges the model changed meanwhile', async () => {
    const names = Array.from({ length: MODELS }, (_, i) => `m-${i}`);
    await createModels(scenario.cluster.client, names.map((name) => variedModel(scenario.namespace, name, 6)));
    a = await scenario.startOperator({ kubeconfig: kubeconfigA, leaderElect: true, flags: LEASE });
    const identityA = String((await a.waitForLog(startedLeading)).identity);
    await waitConverged(scenario.cluster.client, scenario.namespace, { ready: true, timeoutMs: 120_000, expectModels: MODELS });
    b = await scenario.startOperator({ leaderElect: true, flags: LEASE });
    await b.waitReady();
    expect(await leaseHolder()).toBe(identityA);

    const fault = ledger.fault('leader cut off (requests held, watches flowing)');
    proxy.holdRequests();
    const heldAt = Date.now();
    // A hears of these through its watch and starts writing; none of it arrives.
    await Promise.all(
      names.map((name) => scenario.cluster.client.patch(AIModels, scenario.namespace, name, { spec: { image: 'example.com/inference:during-partition' } }, { kind: 'merge' })),
    );

    // A's deadline runs from its last renewal that succeeded, which the audit log has.
    await poll(`A to stop leading (within its renew deadline, ${RENEW_DEADLINE_MS} ms, of its last renewal)`, LEASE_DURATION_MS + RENEW_DEADLINE_MS, async () => a.logs.some(stoppedLeading));
    const lastRenewal = (await operatorRequests('proxied')).filter((e) => isLeaseWrite(e) && e.responseStatus?.code === 200).at(-1);
    expect(lastRenewal).toBeDefined();
    const renewedAt = new Date(lastRenewal!.stageTimestamp).getTime();
    const deadline = renewedAt + RENEW_DEADLINE_MS;
    const stoppedAt = new Date(a.logs.find(stoppedLeading)!.time).getTime();
    expect(renewedAt).toBeLessThanOrEqual(heldAt);
    // It stops at its deadline: not before (the lease was still its own), nor a retry period after.
    expect(stoppedAt).toBeGreaterThanOrEqual(deadline);
    expect(stoppedAt).toBeLessThan(deadline + RETRY_PERIOD_MS);
    ledger.figure('A stopped leading after its last renewal (s)', (stoppedAt - renewedAt) / 1000);

    // B takes the lease once A's has expired (B's own clock, from the last change it saw).
    await poll('B to take the lease', LEASE_DURATION_MS + 2 * RENEW_DEADLINE_MS, async () => {
      const holder = await leaseHolder();
      return holder !== undefined && holder !== '' && holder !== identityA;
    });
    identityB = String((await b.waitForLog(startedLeading)).identity);
    expect(await leaseHolder()).toBe(identityB);
    ledger.figure('B leading after the cut (s)', (Date.now() - heldAt) / 1000);
    await waitConverged(scenario.cluster.client, scenario.namespace, { ready: true, timeoutMs: 120_000, expectModels: MODELS });
    for (const name of names) {
      const deployment = await scenario.cluster.client.get<Obj>(Deployments, scenario.namespace, name);
      expect(deployment.spec.template.spec.containers[0].image).toBe('example.com/inference:during-partition');
    }
    ledger.figure('converged by B after the cut (s)', (Date.now() - heldAt) / 1000);
    fault.recovered();

    // The link comes back: whatever A still has open goes through now, well past its deadline.
    expect(Date.now()).toBeGreaterThan(deadline);
    proxy.heal();
    const exit = await a.exited();
    expect(exit.code).toBe(1); // lost its lease: exits for a fresh process to rejoin
    await poll("every connection of A's to close", RENEW_DEADLINE_MS, async () => proxy.openConnections === 0, { intervalMs: 50 });
    ledger.figure('bytes A sent while cut off: delivered on heal', proxy.heldBytes.delivered);
    ledger.figure('bytes A sent while cut off: abandoned', proxy.heldBytes.dropped);

    const byA = await operatorRequests('proxied');
    const lateWrites = byA.filter((e) => isWrite(e) && new Date(e.requestReceivedTimestamp).getTime() > deadline);
    expect(lateWrites.map(describeRequest)).toEqual([]);
    // The witness sees A: its writes before the cut are there.
    expect(byA.filter((e) => isWrite(e) && !isLeaseWrite(e)).length).toBeGreaterThan(0);
  });

  it('a leader stopped with SIGTERM writes nothing after it has released the lease', async () => {
    expect(identityB).not.toBe('');
    const before = (await operatorRequests('direct')).length;
    // Leave B in the middle of work: every model changes, and B is stopped as the changes land.
    await Promise.all(
      Array.from({ length: MODELS }, (_, i) =>
        scenario.cluster.client.patch(AIModels, scenario.namespace, `m-${i}`, { spec: { image: 'example.com/inference:at-shutdown' } }, { kind: 'merge' }),
      ),
    );
    await poll('B to start on the change', LEASE_DURATION_MS, async () => (await operatorRequests('direct')).slice(before).some((e) => isWrite(e) && !isLeaseWrite(e)), { intervalMs: 20 });
    const exit = await b.kill('SIGTERM');
    expect(exit.code).toBe(0);
    expect(await leaseHolder(), `B's last log lines:\n${b.logs.slice(-15).map((l) => JSON.stringify(l)).join('\n')}`).toBe('');

    const byB = (await operatorRequests('direct')).slice(before);
    const release = byB.filter((e) => isLeaseWrite(e) && e.responseStatus?.code === 200).at(-1);
    expect(release).toBeDefined();
    const releasedAt = new Date(release!.requestReceivedTimestamp).getTime();
    const afterRelease = byB.filter((e) => isWrite(e) && e !== release && new Date(e.requestReceivedTimestamp).getTime() >= releasedAt);
    expect(afterRelease.map(describeRequest)).toEqual([]);
    ledger.figure('writes by B in its last second before the release', byB.filter((e) => isWrite(e) && !isLeaseWrite(e) && new Date(e.requestReceivedTimestamp).getTime() > releasedAt - 1_000).length);
  });
});
