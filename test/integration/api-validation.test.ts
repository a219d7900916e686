// The CRD against a real API server: invalid AIModels are refused with messages naming the field,
// valid ones (samples and generated) are accepted with the same defaults parseAIModel applies,
// and the children the operator derives from them are accepted too.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadAll } from 'js-yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AIModelInput, parseAIModel } from '../../src/api/v1/aimodel.ts';
import { arbitraryAIModelInput } from '../../src/api/v1/arbitrary.ts';
import { invalidExamples } from '../../src/api/v1/invalid-examples.ts';
import { desiredChildren } from '../../src/desired/children.ts';
import { DEFAULT_OPERATOR_DEFAULTS } from '../../src/desired/defaults.ts';
import { type TestCluster, useTestCluster } from '../support/cluster.ts';

/** Generated models per dry-run batch; each batch is one kubectl call. */
const GENERATED = 200;

let cluster: TestCluster;
let namespace: string;

beforeAll(async () => {
  cluster = await useTestCluster();
  namespace = await cluster.newNamespace();
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

  it('accepts the children derived from generated models', async () => {
    const models = fc.sample(arbitraryAIModelInput(), GENERATED).map((input) => {
      const parsed = parseAIModel({ ...input, metadata: { ...input.metadata, namespace } });
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
      return parsed.model;
    });
    const children = models.flatMap((model) => Object.values(desiredChildren(model, DEFAULT_OPERATOR_DEFAULTS)));
    const result = await dryRunCreate(children);
    expect(result.code, result.stderr).toBe(0);
  });
});
