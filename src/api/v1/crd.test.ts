import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { MAX_NAME_LENGTH } from './aimodel.ts';
import { aimodelCRD, aimodelOpenAPISchema, CRD_FILE, type JsonSchema, renderCRDYaml, toStructuralSchema } from './crd.ts';

const repoRoot = join(import.meta.dirname, '..', '..', '..');

type Node = { path: string; schema: JsonSchema };

/** Every schema node below the root, with a readable path. */
function nodes(schema: JsonSchema, path = ''): Node[] {
  const result: Node[] = [];
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  for (const [name, child] of Object.entries(properties)) {
    const childPath = path === '' ? name : `${path}.${name}`;
    result.push({ path: childPath, schema: child }, ...nodes(child, childPath));
  }
  if (typeof schema.additionalProperties === 'object') {
    const child = schema.additionalProperties as JsonSchema;
    result.push({ path: `${path}[*]`, schema: child }, ...nodes(child, `${path}[*]`));
  }
  if (schema.items !== undefined) {
    const child = schema.items as JsonSchema;
    result.push({ path: `${path}[]`, schema: child }, ...nodes(child, `${path}[]`));
  }
  return result;
}

const schema = aimodelOpenAPISchema();
const specAndStatus = nodes(schema).filter(({ path }) => path.startsWith('spec') || path.startsWith('status'));
const isIntOrString = (s: JsonSchema) => s['x-kubernetes-int-or-string'] === true;
const isPreserved = (s: JsonSchema) => s['x-kubernetes-preserve-unknown-fields'] === true;

describe('the committed CRD', () => {
  it('is what the schema generates', async () => {
    const committed = await readFile(join(repoRoot, CRD_FILE), 'utf8').catch(() => '');
    expect(committed === renderCRDYaml(), `${CRD_FILE} is stale or missing: run npm run generate`).toBe(true);
  });

  it('parses back to the generated object', () => {
    expect(load(renderCRDYaml())).toEqual(aimodelCRD());
  });
});

describe('the AIModel CRD', () => {
  const crd = aimodelCRD();
  const version = (crd.spec.versions as JsonSchema[])[0]!;

  it('serves and stores ai.openai.com/v1 AIModel, namespaced, with short name aim in category ai', () => {
    expect(crd.metadata.name).toBe('aimodels.ai.openai.com');
    expect(crd.spec).toMatchObject({
      group: 'ai.openai.com',
      scope: 'Namespaced',
      names: { kind: 'AIModel', listKind: 'AIModelList', plural: 'aimodels', singular: 'aimodel', shortNames: ['aim'], categories: ['ai'] },
    });
    expect(crd.spec.versions).toHaveLength(1);
    expect(version).toMatchObject({ name: 'v1', served: true, storage: true });
  });

  it('has status and scale subresources wired to spec.replicas, status.replicas and status.selector', () => {
    expect(version.subresources).toEqual({
      status: {},
      scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
    });
  });

  it('prints model, engine, desired, ready, status, reason, endpoint and age by default', () => {
    const columns = version.additionalPrinterColumns as { name: string; jsonPath: string; priority?: number }[];
    const visible = columns.filter((c) => (c.priority ?? 0) === 0).map((c) => [c.name, c.jsonPath]);
    expect(visible).toEqual([
      ['Model', '.spec.model'],
      ['Engine', '.spec.engine'],
      ['Desired', '.status.desiredReplicas'],
      ['Ready', '.status.readyReplicas'],
      ['Status', '.status.phase'],
      ['Reason', '.status.conditions[?(@.type=="Ready")].reason'],
      ['Endpoint', '.status.endpoint'],
      ['Age', '.metadata.creationTimestamp'],
    ]);
    for (const column of columns.filter((c) => c.jsonPath.startsWith('.spec') || c.jsonPath.startsWith('.status'))) {
      // A filter such as [?(@.type=="Ready")] selects list items: the schema path is `[]`.
      const path = column.jsonPath.slice(1).replace(/\[\?\(.*?\)\]/g, '[]');
      expect(specAndStatus.map((n) => n.path), column.name).toContain(path);
    }
  });

  it('limits metadata.name at the root, where CEL can read it', () => {
    expect(schema['x-kubernetes-validations']).toEqual([
      expect.objectContaining({ rule: `self.metadata.name.size() <= ${MAX_NAME_LENGTH}` }),
      expect.objectContaining({ rule: "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')" }),
    ]);
    // The API server refuses anything on metadata beyond its type.
    expect((schema.properties as Record<string, JsonSchema>).metadata).toEqual({ type: 'object' });
  });

  it('describes every field, so kubectl explain helps', () => {
    const undescribed = specAndStatus.filter(({ schema: s }) => typeof s.description !== 'string' || s.description.length < 10);
    expect(undescribed.map((n) => n.path)).toEqual([]);
  });

  it('is structural: every node has a type, or is int-or-string or preserved', () => {
    const untyped = specAndStatus.filter(({ schema: s }) => s.type === undefined && !isIntOrString(s) && !isPreserved(s));
    expect(untyped.map((n) => n.path)).toEqual([]);
    const rootTyped = ['apiVersion', 'kind', 'metadata', 'spec', 'status'].every(
      (name) => ((schema.properties as Record<string, JsonSchema>)[name]!.type as string).length > 0,
    );
    expect(rootTyped).toBe(true);
  });

  it('uses anyOf only in the one int-or-string form the API server allows', () => {
    for (const { path, schema: s } of specAndStatus.filter((n) => n.schema.anyOf !== undefined)) {
      expect(isIntOrString(s), path).toBe(true);
      expect(s.anyOf, path).toEqual([{ type: 'integer' }, { type: 'string' }]);
    }
  });

  it('contains no JSON Schema keyword the API server rejects', () => {
    const text = JSON.stringify(schema);
    for (const keyword of ['$schema', '$ref', 'oneOf', 'allOf', '"not"', '"const"', 'propertyNames', 'exclusiveMinimum', '"additionalProperties":false']) {
      expect(text, keyword).not.toContain(keyword);
    }
  });

  it('bounds every string, list and map, as CEL cost estimation needs', () => {
    const unbounded = specAndStatus.filter(({ schema: s }) => {
      if (s.type === 'string') return s.maxLength === undefined && s.enum === undefined;
      if (s.type === 'array') return s.maxItems === undefined;
      if (s.type === 'object' && s.additionalProperties !== undefined) return s.maxProperties === undefined;
      if (isIntOrString(s)) return s.maxLength === undefined && s.pattern === undefined;
      return false;
    });
    expect(unbounded.map((n) => n.path)).toEqual([]);
  });

  it('gives every CEL rule a message that names the field, and keys list maps by required fields', () => {
    const withRules = [{ path: '', schema }, ...specAndStatus].filter((n) => n.schema['x-kubernetes-validations'] !== undefined);
    expect(withRules.length).toBeGreaterThan(15);
    for (const { path, schema: s } of withRules) {
      for (const validation of s['x-kubernetes-validations'] as { rule: string; message: string }[]) {
        expect(validation.rule.length, path).toBeGreaterThan(0);
        expect(validation.message, path).toMatch(/(spec|metadata)\.[a-zA-Z]/);
      }
    }
    for (const { path, schema: s } of specAndStatus.filter((n) => n.schema['x-kubernetes-list-type'] === 'map')) {
      const keys = s['x-kubernetes-list-map-keys'] as string[];
      expect(keys.every((key) => ((s.items as JsonSchema).required as string[]).includes(key)), path).toBe(true);
    }
  });

  it('defaults what the operator documents as defaults', () => {
    const byPath = new Map(specAndStatus.map((n) => [n.path, n.schema]));
    expect(byPath.get('spec.port')?.default).toBe(8000);
    expect(byPath.get('spec.autoscaling.minReplicas')?.default).toBe(1);
    expect(byPath.get('spec.suspend')?.default).toBe(false);
    expect(byPath.get('spec.service.type')?.default).toBe('ClusterIP');
    expect(byPath.get('spec.storage')?.default).toEqual({ emptyDir: {} });
    expect(byPath.get('spec.probes')?.default).toEqual({});
    expect(byPath.get('spec.engine')?.default).toBe('openai-compatible');
    // Probe paths and numbers come from the engine preset unless the user sets them: a schema
    // default would be stored, and then win over the preset of an engine chosen later.
    expect(byPath.get('spec.probes.startup.path')?.default).toBeUndefined();
    expect(byPath.get('spec.probes.startup.failureThreshold')?.default).toBeUndefined();
    expect(byPath.get('spec.strategy.rollingUpdate.maxSurge')?.default).toBe(1);
    expect(byPath.get('spec.strategy.rollingUpdate.maxUnavailable')?.default).toBe(0);
    // A schema default for replicas would break `replicas` within [minReplicas, maxReplicas]
    // whenever minReplicas > 1: the operator applies 1 itself when autoscaling is off.
    expect(byPath.get('spec.replicas')?.default).toBeUndefined();
  });

  it('offers no privileged or host knobs, and a security context of non-root ids only', () => {
    const forbidden = /privileged|hostPath|hostNetwork|hostPID|hostIPC|hostPort|capabilities|allowPrivilegeEscalation|runAsNonRoot|seccomp|volumes$/;
    expect(specAndStatus.map((n) => n.path).filter((path) => forbidden.test(path))).toEqual([]);
    const byPath = new Map(specAndStatus.map((n) => [n.path, n.schema]));
    const securityContext = byPath.get('spec.securityContext')!;
    expect(Object.keys(securityContext.properties as object).sort()).toEqual(['fsGroup', 'platformAssignedIds', 'runAsGroup', 'runAsUser']);
    expect(byPath.get('spec.securityContext.runAsUser')?.minimum).toBe(1);
    // A ServiceAccount and pull secrets are referenced by name, never created or read.
    expect(byPath.get('spec.serviceAccountName')?.type).toBe('string');
    expect(Object.keys((byPath.get('spec.imagePullSecrets[]')?.properties ?? {}) as object)).toEqual(['name']);
  });
});

describe('toStructuralSchema', () => {
  it('normalises int-or-string and lifts the bounds of both branches', () => {
    const result = toStructuralSchema({
      'x-kubernetes-int-or-string': true,
      description: 'q',
      anyOf: [
        { type: 'integer', minimum: 0, maximum: 9007199254740991 },
        { type: 'string', pattern: '^[0-9]+m$', maxLength: 8 },
      ],
    });
    expect(result).toEqual({
      description: 'q',
      minimum: 0,
      maxLength: 8,
      pattern: '^[0-9]+m$',
      anyOf: [{ type: 'integer' }, { type: 'string' }],
      'x-kubernetes-int-or-string': true,
    });
  });

  it('drops what the API server rejects or ignores', () => {
    expect(
      toStructuralSchema({
        $schema: 'x',
        type: 'object',
        additionalProperties: false,
        required: [],
        properties: { m: { type: 'object', propertyNames: { type: 'string' }, additionalProperties: { type: 'string' } } },
      }),
    ).toEqual({ type: 'object', properties: { m: { type: 'object', additionalProperties: { type: 'string' } } } });
  });

  it('drops the any-value additionalProperties of a preserved object', () => {
    expect(toStructuralSchema({ type: 'object', additionalProperties: {}, 'x-kubernetes-preserve-unknown-fields': true })).toEqual({
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
    });
  });

  it.each([
    [{ anyOf: [{ type: 'string' }, { type: 'number' }] }, 'anyOf is only supported for int-or-string'],
    [{ properties: { a: { const: 'x' } } }, 'a: JSON Schema keyword const'],
    [{ items: { oneOf: [] } }, '<root>[]: JSON Schema keyword oneOf'],
    [{ 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer', multipleOf: 2 }] }, 'multipleOf inside an int-or-string branch'],
  ])('refuses unsupported constructs: %j', (input, message) => {
    expect(() => toStructuralSchema(input)).toThrow(message);
  });
});
