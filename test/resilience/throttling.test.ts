// Scenario 4: throttling. The API server runs with tiny in-flight limits and no priority and
// fairness, so the operator (a ServiceAccount, not exempt as system:masters is) gets 429 Too
// Many Requests with Retry-After. Convergence must complete; every 429 must be retried no
// sooner than the server asked; the logs must not turn throttling into an error storm.
import { describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { AIModels } from '../../src/controllers/aimodel/setup.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { ApiError } from '../../src/kube/errors.ts';
import { countBy } from '../support/resilience/audit.ts';
import type { AuditEvent } from '../support/resilience/audit.ts';
import type { OperatorProcess } from '../support/operator-process.ts';
import { operatorUser } from '../support/resilience/cluster.ts';
import { createModels, variedModel, waitConverged } from '../support/resilience/convergence.ts';
import { useLedger } from '../support/resilience/ledger.ts';
import { useResilienceScenario } from '../support/resilience/scenario.ts';

const MODELS = 100;
const ledger = useLedger('4 throttling (429 Too Many Requests)');
const scenario = useResilienceScenario({
  apiServerArgs: ['--enable-priority-and-fairness=false', '--max-requests-inflight=2', '--max-mutating-requests-inflight=1'],
  namespaces: ['throttle'],
});

let op: OperatorProcess;
let since: Date;
let retryAfterMs = 0;

const key = (e: AuditEvent) =>
  `${e.verb} ${e.objectRef?.resource ?? e.requestURI}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''} ${e.objectRef?.namespace ?? ''}/${e.objectRef?.name ?? ''}`;

describe(`${MODELS} models against an API server with max-requests-inflight=2, max-mutating-requests-inflight=1`, () => {
  it('the limits bite: the operator\'s identity gets 429 with a Retry-After', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(scenario.kubeconfig);
    // No client-side retry: the probe wants to see the 429s themselves.
    const client = await KubeClient.fromKubeConfig(kc, { userAgent: 'resilience-probe', maxThrottleRetries: 0 });
    try {
      const outcomes = await Promise.allSettled(Array.from({ length: 40 }, () => client.list(AIModels, { namespace: scenario.namespace })));
      const throttled = outcomes.flatMap((o) => (o.status === 'rejected' && o.reason instanceof ApiError && o.reason.status === 429 ? [o.reason] : []));
      expect(throttled.length, 'no 429 from 40 concurrent lists: the limits are not in force').toBeGreaterThan(0);
      retryAfterMs = throttled[0]!.retryAfterMs ?? 0;
      ledger.figure('server Retry-After (ms)', retryAfterMs);
      expect(retryAfterMs).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });

  it('converges anyway', async () => {
    await createModels(scenario.cluster.client, Array.from({ length: MODELS }, (_, i) => variedModel(scenario.namespace, `m-${i}`, i)));
    since = new Date();
    op = await scenario.startOperator();
    const fault = ledger.fault('API server throttling', `${MODELS} models`);
    const { inspection } = await waitConverged(scenario.cluster.client, scenario.namespace, { ready: true, timeoutMs: 480_000, expectModels: MODELS });
    ledger.figure('converged in (s)', fault.recovered() / 1000);
    ledger.figure('children', inspection.children);
    const requests = await scenario.cluster.audit.byOperator(operatorUser, since);
    const throttled = requests.filter((e) => e.responseStatus?.code === 429);
    ledger.figure('operator requests', requests.length);
    ledger.figure('429s', throttled.length);
    ledger.figure('429s by request', JSON.stringify(countBy(throttled, (e) => `${e.verb} ${e.objectRef?.resource}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''}`)));
    expect(throttled.length, 'the operator was never throttled: the scenario tested nothing').toBeGreaterThan(0);
    expect(op.crashed, op.tail()).toBeUndefined();
  });

  it('retries every 429 no sooner than Retry-After', async () => {
    expect(retryAfterMs).toBeGreaterThan(0);
    const requests = (await scenario.cluster.audit.byOperator(operatorUser, since)).sort((a, b) => a.requestReceivedTimestamp.localeCompare(b.requestReceivedTimestamp));
    // An Event create has no name to match its retry by (the client retries it after
    // Retry-After like any request): they are counted, not checked.
    const eventRefusals = requests.filter((e) => e.responseStatus?.code === 429 && e.objectRef?.resource === 'events');
    ledger.figure('Event writes refused with 429 (then retried)', eventRefusals.length);
    const early: string[] = [];
    let retried = 0;
    for (const [i, e] of requests.entries()) {
      if (e.responseStatus?.code !== 429 || e.objectRef?.resource === 'events') continue;
      const next = requests.slice(i + 1).find((n) => key(n) === key(e));
      if (!next) continue; // the work became unnecessary
      retried++;
      const gap = Date.parse(next.requestReceivedTimestamp) - Date.parse(e.stageTimestamp);
      if (gap < retryAfterMs - 50) early.push(`${key(e)}: retried after ${gap} ms`);
    }
    ledger.figure('429s retried / retried early', `${retried}/${early.length}`);
    ledger.figure('early retries by request', JSON.stringify(countBy(early, (line) => line.split(' ').slice(0, 2).join(' '))));
    expect(retried).toBeGreaterThan(0);
    expect(early, early.slice(0, 10).join('\n')).toEqual([]);
  });

  it('logs no error storm', () => {
    const errors = op.errorLines();
    const byMsg = countBy(errors, (l) => String(l.msg));
    ledger.figure('error log lines', errors.length);
    ledger.figure('error lines by message', JSON.stringify(byMsg));
    // Throttling is expected and recovered from: at most one error line per ten models.
    expect(errors.length, JSON.stringify(errors.slice(0, 3))).toBeLessThanOrEqual(MODELS / 10);
  });
});
