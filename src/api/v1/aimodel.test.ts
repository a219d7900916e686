import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AIModel, formatPath, parseAIModel } from './aimodel.ts';
import { arbitraryAIModel, arbitraryAIModelInput } from './arbitrary.ts';
import { invalidExamples } from './invalid-examples.ts';

/** What the API server adds to a manifest before the operator ever reads it. */
const stored = (manifest: object) => ({
  ...manifest,
  metadata: { ...(manifest as { metadata: object }).metadata, namespace: 'default', uid: '5b0c8f7e-0000-4000-8000-000000000001' },
});

function parsed(manifest: object): AIModel {
  const result = parseAIModel(stored(manifest));
  if (!result.ok) throw new Error(`expected a valid AIModel, got ${JSON.stringify(result.problems)}`);
  return result.model;
}

const seed = {
  apiVersion: 'ai.openai.com/v1',
  kind: 'AIModel',
  metadata: { name: 'gpt-4o-agent' },
  spec: { model: 'gpt-4o-agent', replicas: 5, autoscaling: { minReplicas: 2, maxReplicas: 20 } },
};

describe('parseAIModel', () => {
  it('applies every default to the seed model', () => {
    expect(parsed(seed).spec).toEqual({
      model: 'gpt-4o-agent',
      replicas: 5,
      autoscaling: { minReplicas: 2, maxReplicas: 20 },
      engine: 'openai-compatible',
      port: 8000,
      storage: { emptyDir: {} },
      // Paths and numbers come from the engine preset when the reconciler renders the pod.
      probes: {
        startup: { enabled: true },
        readiness: { enabled: true, successThreshold: 1 },
        liveness: { enabled: true },
      },
      strategy: { type: 'RollingUpdate' },
      service: { type: 'ClusterIP' },
      suspend: false,
      podDisruptionBudget: { enabled: true },
    });
  });

  it('keeps metadata it does not model, such as resourceVersion and labels', () => {
    const model = parsed({ ...seed, metadata: { ...seed.metadata, resourceVersion: '42', labels: { team: 'a' } } });
    expect(model.metadata).toMatchObject({ name: 'gpt-4o-agent', resourceVersion: '42', labels: { team: 'a' } });
  });

  it('defaults the fields of a partly written nested object, and keeps what the user wrote', () => {
    const model = parsed({ ...seed, spec: { ...seed.spec, probes: { startup: { failureThreshold: 360 } } } });
    expect(model.spec.probes.startup).toEqual({ enabled: true, failureThreshold: 360 });
    expect(model.spec.probes.readiness).toEqual({ enabled: true, successThreshold: 1 });
  });

  it('accepts replicas inside the autoscaling bounds and at either end', () => {
    for (const replicas of [2, 11, 20]) {
      expect(parseAIModel(stored({ ...seed, spec: { ...seed.spec, replicas } })).ok).toBe(true);
    }
  });

  it('requires the identity the API server assigns', () => {
    const result = parseAIModel(seed);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.map((p) => p.path).sort()).toEqual(['metadata.namespace', 'metadata.uid']);
  });

  it('drops a status that no longer fits instead of refusing the model', () => {
    const result = parseAIModel({ ...stored(seed), status: { phase: 'Exploded', readyReplicas: -1 } });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.model.status).toBeUndefined();
  });

  it('keeps a valid status', () => {
    const status = {
      observedGeneration: 3,
      phase: 'Ready',
      readyReplicas: 2,
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z', reason: 'Available', message: '' }],
    };
    const result = parseAIModel({ ...stored(seed), status });
    expect(result.ok && result.model.status).toEqual(status);
  });

  it('rejects something that is not an AIModel at all', () => {
    for (const input of [null, 42, 'aimodel', [], { apiVersion: 'v1', kind: 'Pod' }]) {
      const result = parseAIModel(input);
      expect(result.ok).toBe(false);
    }
  });

  it('reports a throwing getter as a problem instead of throwing', () => {
    const hostile = stored(seed);
    Object.defineProperty(hostile, 'spec', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    const result = parseAIModel(hostile);
    expect(result).toEqual({ ok: false, problems: [{ path: '', message: 'object could not be read: boom' }] });
  });

  describe.each(invalidExamples)('rejects: $title', ({ manifest, path }) => {
    it(path === null ? 'drops the unknown field, as API server pruning would' : `at ${path}`, () => {
      const result = parseAIModel(stored(manifest));
      if (path === null) {
        expect(result.ok).toBe(true);
        if (result.ok) expect(Object.keys(result.model.spec)).not.toContain(Object.keys(manifest.spec).at(-1));
        return;
      }
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.problems.map((p) => p.path)).toContain(path);
    });
  });

  it('rejects what the CRD cannot check: label keys, requests above limits, fractional GPUs', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ podLabels: { 'bad key!': 'x' } }, 'spec.podLabels[bad key!]'],
      [{ nodeSelector: { 'a/b/c': 'x' } }, 'spec.nodeSelector[a/b/c]'],
      [{ resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } }, 'spec.resources.requests.cpu'],
      [{ resources: { requests: { 'nvidia.com/gpu': '0.5' } } }, 'spec.resources.requests[nvidia.com/gpu]'],
      [{ resources: { requests: { 'nvidia.com/gpu': 1 }, limits: { 'nvidia.com/gpu': 2 } } }, 'spec.resources.requests[nvidia.com/gpu]'],
      [{ resources: { requests: { 'kubernetes.io/foo': 1 } } }, 'spec.resources.requests[kubernetes.io/foo]'],
      [{ autoscaling: { maxReplicas: 2, metrics: [{ type: 'External', external: { metric: { name: 'q' }, target: { type: 'Value', value: 0 } } }] } }, 'spec.autoscaling.metrics[0].external.target.value'],
      // The API server refuses such affinity only when the Deployment comes: found before that.
      [{ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'gpu', operator: 'In' }] }] } } } }, 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values'],
      [{ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'mem', operator: 'Gt', values: ['a lot'] }] }] } } } }, 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values'],
      [{ affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'zone', labelSelector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] } }] } } }, 'spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].values'],
    ];
    for (const [spec, path] of cases) {
      const result = parseAIModel(stored({ ...seed, spec: { model: 'm', ...spec } }));
      expect(result.ok ? [] : result.problems.map((p) => p.path), JSON.stringify(spec)).toContain(path);
    }
  });

  it('never throws, and reports problems as field paths with messages', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withObjectString: true }), (input) => {
        const result = parseAIModel(input);
        if (result.ok) return;
        expect(result.problems.length).toBeGreaterThan(0);
        for (const problem of result.problems) {
          expect(typeof problem.path).toBe('string');
          expect(problem.message.length).toBeGreaterThan(0);
        }
      }),
    );
  });

  it('reports paths of problems deep inside a generated valid model', () => {
    fc.assert(
      fc.property(arbitraryAIModelInput(), fc.constantFrom(-1, 0), (input, minReplicas) => {
        const broken = { ...input, spec: { ...input.spec, autoscaling: { maxReplicas: 3, minReplicas }, replicas: undefined } };
        const result = parseAIModel(broken);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.problems.map((p) => p.path)).toContain('spec.autoscaling.minReplicas');
      }),
      { numRuns: 50 },
    );
  });

  it('accepts every generated model, and parsing is idempotent', () => {
    fc.assert(
      fc.property(arbitraryAIModel(), (model) => {
        const again = parseAIModel(model);
        expect(again).toEqual({ ok: true, model });
      }),
      { numRuns: 200 },
    );
  });
});

describe('formatPath', () => {
  it.each([
    [[], ''],
    [['spec', 'autoscaling', 'minReplicas'], 'spec.autoscaling.minReplicas'],
    [['spec', 'env', 0, 'name'], 'spec.env[0].name'],
    [['spec', 'podLabels', 'app.kubernetes.io/name'], 'spec.podLabels[app.kubernetes.io/name]'],
    [[0, 'a'], '[0].a'],
  ] as [PropertyKey[], string][])('%j → %s', (path, expected) => {
    expect(formatPath(path)).toBe(expected);
  });
});
