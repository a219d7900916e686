// Started against a cluster without the AIModel CRD (a fresh `npm run cluster:up`), the operator
// says which CRD is missing and how to install it, once, stays not ready while it is missing, and
// proceeds without a restart once it is installed.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, poll } from '../../hack/localcluster/cluster.ts';
import { freePort } from '../../hack/localcluster/process.ts';
import { AIModels } from '../../src/api/v1/resource.ts';
import { parseConfig } from '../../src/config/config.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { startOperator } from '../../src/operator.ts';
import type { RunningOperator } from '../../src/operator.ts';
import { waitForObject } from '../support/wait.ts';

const crdFile = fileURLToPath(new URL('../../crds/ai.openai.com_aimodels.yaml', import.meta.url));
const crdName = 'aimodels.ai.openai.com';
const ns = 'no-crd-yet';

type Model = KubeObject & { status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] } };

let cluster: LocalCluster;
let client: KubeClient;
let operator: RunningOperator | undefined;
let healthPort: number;
/** The operator's log, one parsed pino record per line. */
const records: Array<{ level: number; msg?: string; informer?: string; line: string }> = [];

beforeAll(async () => {
  cluster = await LocalCluster.start({ stateDir: await mkdtemp(join(tmpdir(), 'aimodel-no-crd-')), log: () => {} });
  client = await cluster.client();
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  healthPort = await freePort();
  const config = parseConfig(
    [`--namespaces=${ns}`, '--leader-elect=false', '--metrics-bind-address=127.0.0.1:0', `--health-probe-bind-address=127.0.0.1:${healthPort}`],
    {},
  );
  const log = pino({ level: 'debug' }, {
    write(line: string) {
      records.push({ ...(JSON.parse(line) as { level: number; msg?: string; informer?: string }), line });
    },
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cluster.kubeconfigPath);
  operator = await startOperator(config, kubeConfig, log);
});

afterAll(async () => {
  await operator?.stop().catch(() => {});
  await cluster?.stop();
});

async function readyz(): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${healthPort}/readyz?verbose`);
  return { status: res.status, body: await res.text() };
}

const modelListWatchFailures = () => records.filter((r) => r.informer === `aimodels/${ns}` && r.msg?.startsWith('list/watch failed')).length;
const namingTheCRD = () => records.filter((r) => r.line.includes(crdName));

describe('an operator started before its CRD', () => {
  it('names the missing CRD once, stays not ready until it is installed, then reconciles without a restart', async () => {
    await poll('three failed list/watch attempts on AIModels', 60_000, async () => modelListWatchFailures() >= 3);
    const named = namingTheCRD();
    expect(named).toHaveLength(1);
    expect(named[0]!.msg).toContain(`the CustomResourceDefinition ${crdName} is not installed`);
    expect(named[0]!.msg).toContain('kubectl apply --server-side -f crds/');
    expect(named[0]!.msg).toContain('Helm chart');

    const notReady = await readyz();
    expect(notReady.status).toBe(500);
    expect(notReady.body).toContain(`[-]aimodel-crd failed: the CustomResourceDefinition ${crdName} is not installed`);

    const applied = await cluster.kubectl(['apply', '--server-side', '-f', crdFile]);
    expect(applied.stderr).toBe('');
    const established = await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${crdName}`]);
    expect(established.code).toBe(0);

    // The informers retry on their backoff (at most 36 s apart): no restart, no nudge.
    await poll('/readyz to pass once the CRD is installed', 90_000, async () => (await readyz()).status === 200);
    expect(records.some((r) => r.msg === `the CustomResourceDefinition ${crdName} is installed: starting`)).toBe(true);

    await client.create({ apiVersion: 'ai.openai.com/v1', kind: 'AIModel', metadata: { name: 'late', namespace: ns }, spec: { model: 'late', replicas: 1 } } as KubeObject);
    const reconciled = await waitForObject<Model>(
      client,
      AIModels,
      ns,
      'late',
      (m) => !!m && m.status?.observedGeneration === m.metadata.generation && m.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
      { timeoutMs: 90_000, description: 'AIModel late Ready' },
    );
    expect(reconciled).toBeDefined();
  });
});
