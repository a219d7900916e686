// The CRD against a real API server: invalid AIModels are refused with messages naming the field,
// valid ones (samples and generated) are accepted with the same defaults parseAIModel applies,
// and the children the operator derives from them are accepted too.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadAll } from 'js-yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AIModelInput, parseAIModel } from '../../src/api/v1/aimodel.ts';
import { ARBITRARY_SERVICE_ACCOUNTS, arbitraryAIModelInput } from '../../src/api/v1/arbitrary.ts';
import { invalidExamples } from '../../src/api/v1/invalid-examples.ts';
import { desiredChildren } from '../../src/desired/children.ts';
import { DEFAULT_OPERATOR_DEFAULTS } from '../../src/desired/defaults.ts';
import { ApiError } from '../../src/kube/errors.ts';
import { type TestCluster, useTestCluster } from '../support/cluster.ts';

/** Generated models per dry-run batch; each batch is one kubectl call. */
const GENERATED = 200;
/** Generated models whose children are dry-run, in batches of GENERATED. */
const GENERATED_CHILDREN = 1000;
const restricted = { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' };

let cluster: TestCluster;
let namespace: string;

beforeAll(async () => {
  cluster = await useTestCluster();
  // Restricted Pod Security is enforced on pods and warned about on workload templates.
  namespace = await cluster.newNamespace(restricted);
  // Pod admission checks that a named PriorityClass and RuntimeClass exist; generated models use these.
  const classes = [
    { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'high-priority' }, value: 1000 },
    { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'inference.critical' }, value: 2000 },
    { apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'nvidia' }, handler: 'nvidia' },
  ];
  for (const obj of classes) {
    await cluster.client.create(obj as never).catch((err: unknown) => {
      if (!(err instanceof ApiError && err.status === 409)) throw err;
    });
  }
  // Pod admission checks that a named ServiceAccount exists; generated models name these.
  for (const name of ARBITRARY_SERVICE_ACCOUNTS) {
    await cluster.client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } } as never);
  }
});

/** A manifest as a user would send it: in the test namespace, without server-owned metadata. */
function asSubmitted(input: AIModelInput): object {
  const { name } = input.metadata;
  return { ...input, metadata: { name, namespace } };
}

/** Server-side dry-run create of many objects in one kubectl call. */
async function dryRunCreate(objects: object[], extraArgs: string[] = []) {
  const list = { apiVersion: 'v1', kind: 'List', items: objects };
  return cluster.kubectl(['create', '--dry-run=server', '-n', namespace, '-f', '-', ...extraArgs], JSON.stringify(list));
}

describe('AIModel admission', () => {
  it.each(invalidExamples)('refuses $title', async ({ manifest, expect: messages }) => {
    const result = await cluster.kubectl(['apply', '--dry-run=server', '-n', namespace, '-f', '-'], JSON.stringify(manifest));
    expect(result.code, result.stdout).not.toBe(0);
    for (const message of messages) expect(result.stderr).toContain(message);
  });

  it('accepts every sample', async () => {
    const dir = join(import.meta.dirname, '..', '..', 'config', 'samples');
    for (const file of (await readdir(dir)).filter((f) => f.endsWith('.yaml'))) {
      const result = await cluster.kubectl(['apply', '--dry-run=server', '-n', namespace, '-f', '-'], await readFile(join(dir, file), 'utf8'));
      expect(result.code, `${file}: ${result.stderr}`).toBe(0);
    }
  });

  it('accepts generated models and defaults them exactly as parseAIModel does', async () => {
    const inputs = fc.sample(arbitraryAIModelInput(), GENERATED);
    // kubectl prints one YAML document per object, in input order.
    const result = await dryRunCreate(inputs.map(asSubmitted), ['-o', 'yaml']);
    expect(result.code, result.stderr).toBe(0);
    const created = loadAll(result.stdout) as { spec: unknown }[];
    expect(created).toHaveLength(inputs.length);
    inputs.forEach((input, i) => {
      const parsed = parseAIModel(input);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
      // JSON round trip: the server's view has no undefined-valued keys.
      expect(created[i]!.spec, JSON.stringify(input.spec)).toEqual(JSON.parse(JSON.stringify(parsed.model.spec)));
    });
  });

  it('accepts the children derived from 1,000 generated models, and their pods under restricted Pod Security', async () => {
    for (let batch = 0; batch < GENERATED_CHILDREN / GENERATED; batch++) {
      const models = fc.sample(arbitraryAIModelInput(), GENERATED).map((input, i) => {
        const name = `${input.metadata.name.slice(0, 40)}-${batch}-${i}`;
        const parsed = parseAIModel({ ...input, metadata: { ...input.metadata, name, namespace } });
        if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
        return parsed.model;
      });
      const children = models.map((model) => desiredChildren(model, DEFAULT_OPERATOR_DEFAULTS));
      const result = await dryRunCreate(children.flatMap((c) => Object.values(c)));
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).not.toContain('would violate PodSecurity');
      // The pods the Deployments would create, admitted where restricted is enforced.
      const pods = children.map(({ deployment }) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: deployment.metadata.name, namespace, labels: deployment.spec?.template.metadata?.labels },
        spec: deployment.spec?.template.spec,
      }));
      const admitted = await dryRunCreate(pods);
      expect(admitted.code, admitted.stderr).toBe(0);
    }
  });
});
