// Runs the operator in this test process against the shared cluster, watching only the test's
// namespaces, so tests can count its API requests and force resyncs.
import { afterAll } from 'vitest';
import { pino } from 'pino';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseConfig } from '../../src/config/config.ts';
import { startOperator } from '../../src/operator.ts';
import type { RunningOperator } from '../../src/operator.ts';
import type { RequestRecord } from '../../src/kube/client.ts';
import { useTestCluster } from './cluster.ts';
import type { TestCluster } from './cluster.ts';

export interface TestOperator extends RunningOperator {
  requests: RequestRecord[];
  writes(): RequestRecord[];
  /** Sum of controller_runtime_reconcile_total over all results. */
  reconciles(): Promise<number>;
}

const started: RunningOperator[] = [];
// Registered at import, during collection (see cluster.ts): stops every operator this file started.
afterAll(async () => {
  await Promise.all(started.splice(0).map((operator) => operator.stop().catch(() => {})));
});

/** kubeConfig: how the operator reaches the API server (default: the cluster's admin kubeconfig). */
export async function startTestOperator(cluster: TestCluster, namespaces: string[], flags: string[] = [], kubeConfig: KubeConfig = cluster.kubeConfig): Promise<TestOperator> {
  const config = parseConfig(
    [
      `--namespaces=${namespaces.join(',')}`,
      '--leader-elect=false',
      '--metrics-bind-address=127.0.0.1:0',
      '--health-probe-bind-address=127.0.0.1:0',
      '--kube-api-qps=0',
      ...flags,
    ],
    {},
  );
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'warn' });
  const operator = await startOperator(config, kubeConfig, log);
  const requests: RequestRecord[] = [];
  operator.client.addObserver((r) => requests.push(r));
  started.push(operator);
  return Object.assign(operator, {
    requests,
    writes: () => requests.filter((r) => r.write),
    async reconciles() {
      const metric = await operator.metrics.registry.getSingleMetric('controller_runtime_reconcile_total')?.get();
      return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
    },
  });
}

/** The shared cluster, a namespace of the caller's own, and an operator watching only it. */
export async function operatorInNewNamespace(flags: string[] = []): Promise<{ cluster: TestCluster; operator: TestOperator; ns: string }> {
  const cluster = await useTestCluster();
  const ns = await cluster.newNamespace();
  return { cluster, ns, operator: await startTestOperator(cluster, [ns], flags) };
}
