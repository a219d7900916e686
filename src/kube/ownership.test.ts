import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { appliedFieldsOf, keepAppliedFields, ownsIntent, replaceDriftedElements } from './ownership.ts';
import type { FieldsV1 } from './ownership.ts';

// The fieldsV1 the API server records for an apply of `intent` below (shape taken from a live
// kube-apiserver: keyed list elements carry `.`, atomic lists are leaves).
const applied: FieldsV1 = {
  'f:metadata': { 'f:labels': { 'f:app': {} }, 'f:ownerReferences': { 'k:{"uid":"u1"}': {} } },
  'f:spec': {
    'f:selector': {},
    'f:template': {
      'f:spec': {
        'f:containers': {
          'k:{"name":"server"}': {
            '.': {},
            'f:name': {},
            'f:image': {},
            'f:args': {},
            'f:env': { 'k:{"name":"MODEL"}': { '.': {}, 'f:name': {}, 'f:value': {} } },
            'f:ports': { 'k:{"containerPort":8000,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {}, 'f:name': {} } },
          },
        },
        'f:volumes': { 'k:{"name":"models"}': { '.': {}, 'f:name': {}, 'f:emptyDir': {} } },
      },
    },
  },
};

const intent = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'm', namespace: 'ns', labels: { app: 'm' }, ownerReferences: [{ uid: 'u1', kind: 'AIModel' }] },
  spec: {
    selector: { matchLabels: { app: 'm' } },
    template: {
      spec: {
        containers: [{ name: 'server', image: 'i:1', args: ['--a', '--b'], env: [{ name: 'MODEL', value: 'm' }], ports: [{ containerPort: 8000, name: 'http' }] }],
        volumes: [{ name: 'models', emptyDir: {} }],
      },
    },
  },
};

const live = (fields: FieldsV1, manager = 'op') => ({
  metadata: { managedFields: [{ manager: 'other', operation: 'Update', fieldsV1: {} }, { manager, operation: 'Apply', fieldsV1: fields }] },
});

/** The set after another writer took the field at `path`: parents left with no member go too. */
function without(fields: FieldsV1, path: string[]): FieldsV1 {
  const copy = structuredClone(fields);
  const parents = [copy];
  for (const key of path.slice(0, -1)) parents.push(parents.at(-1)![key]!);
  delete parents.at(-1)![path.at(-1)!];
  for (let i = parents.length - 1; i > 0; i--) {
    const keys = Object.keys(parents[i]!);
    if (keys.length > 0 && !(keys.length === 1 && keys[0] === '.')) break;
    delete parents[i - 1]![path[i - 1]!];
  }
  return copy;
}

describe('ownsIntent', () => {
  it('holds when the manager owns every field of its intent', () => {
    expect(ownsIntent(intent, live(applied), 'op')).toBe(true);
  });

  it('ignores elements other managers added to lists merged by key (kubectl set env, a sidecar)', () => {
    // Their fields are in their own entry; the operator's entry is unchanged.
    const fields = structuredClone(applied);
    expect(ownsIntent(intent, { metadata: { managedFields: [...live(fields).metadata.managedFields, { manager: 'kubectl-set', operation: 'Update', fieldsV1: { 'f:spec': {} } }] } }, 'op')).toBe(true);
  });

  it('fails when another writer took over a value (kubectl set image moves f:image to kubectl-set)', () => {
    const path = ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"server"}', 'f:image'];
    expect(ownsIntent(intent, live(without(applied, path)), 'op')).toBe(false);
  });

  it('fails when a volume source was replaced (emptyDir turned into a hostPath)', () => {
    const path = ['f:spec', 'f:template', 'f:spec', 'f:volumes', 'k:{"name":"models"}', 'f:emptyDir'];
    expect(ownsIntent(intent, live(without(applied, path)), 'op')).toBe(false);
  });

  it('fails when a keyed element of the intent is gone', () => {
    const path = ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"server"}', 'f:env', 'k:{"name":"MODEL"}'];
    expect(ownsIntent(intent, live(without(applied, path)), 'op')).toBe(false);
  });

  it('fails without an apply entry of that manager, and reads only the main resource entry', () => {
    expect(ownsIntent(intent, live(applied, 'someone-else'), 'op')).toBe(false);
    expect(ownsIntent(intent, undefined, 'op')).toBe(false);
    const statusOnly = { metadata: { managedFields: [{ manager: 'op', operation: 'Apply', subresource: 'status', fieldsV1: applied }] } };
    expect(appliedFieldsOf(statusOnly, 'op')).toBeUndefined();
  });

  it('matches a keyed element whose defaulted key field the intent leaves out', () => {
    const port = { spec: { ports: [{ port: 80 }] } };
    expect(ownsIntent(port, live({ 'f:spec': { 'f:ports': { 'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {} } } } }), 'op')).toBe(true);
    expect(ownsIntent(port, live({ 'f:spec': { 'f:ports': { 'k:{"port":81,"protocol":"TCP"}': { '.': {}, 'f:port': {} } } } }), 'op')).toBe(false);
  });

  it('treats a member with no entries as owned whole (atomic maps, lists and ownerReferences)', () => {
    expect(ownsIntent({ spec: { selector: { matchLabels: { a: 'b' } }, args: ['x'] } }, live({ 'f:spec': { 'f:selector': {}, 'f:args': {} } }), 'op')).toBe(true);
  });

  it('drops any one owned leaf: always noticed', () => {
    const leaves: string[][] = [];
    const walk = (node: FieldsV1, path: string[]) => {
      const keys = Object.keys(node).filter((k) => k !== '.');
      if (keys.length === 0 && path.length > 0 && !path.at(-1)!.startsWith('k:')) leaves.push(path);
      for (const k of keys) walk(node[k]!, [...path, k]);
    };
    walk(applied, []);
    fc.assert(
      fc.property(fc.constantFrom(...leaves), (path) => {
        expect(ownsIntent(intent, live(without(applied, path)), 'op')).toBe(false);
      }),
    );
  });
});

describe('keepAppliedFields', () => {
  const keep = keepAppliedFields('op');
  const child = (uid: string) => {
    const fields = structuredClone(applied);
    fields['f:metadata']!['f:ownerReferences'] = { [`k:{"uid":"${uid}"}`]: {} };
    return {
      metadata: {
        name: uid,
        managedFields: [
          { manager: 'kube-controller-manager', operation: 'Update', subresource: 'status', fieldsV1: { 'f:status': {} } },
          { manager: 'op', operation: 'Apply', fieldsV1: fields },
        ],
      },
    };
  };

  it("keeps only the manager's apply entry, and the ownership it tells", () => {
    const kept = keep(child('u1'));
    expect(kept.metadata.managedFields).toHaveLength(1);
    expect(ownsIntent(intent, kept, 'op')).toBe(true);
    const taken = without(applied, ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"server"}', 'f:image']);
    expect(ownsIntent(intent, keep(live(taken)), 'op')).toBe(false);
  });

  it('shares one set between children that differ only in their owner', () => {
    const a = appliedFieldsOf(keep(child('u1')), 'op');
    const b = appliedFieldsOf(keep(child('u2')), 'op');
    expect(a).toBe(b);
  });

  it('drops managedFields of objects the manager never applied', () => {
    expect(keep({ metadata: { name: 'x', managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsV1: {} }] } }).metadata).toEqual({ name: 'x' });
  });
});

describe('replaceDriftedElements', () => {
  const liveObject = (fields: FieldsV1, volumes: unknown[]) => ({
    metadata: { resourceVersion: '42', managedFields: live(fields).metadata.managedFields },
    spec: { template: { spec: { containers: structuredClone(intent.spec.template.spec.containers), volumes } } },
  });

  it('puts back a volume whose source another writer replaced, on the condition of the version it read', () => {
    const taken = without(applied, ['f:spec', 'f:template', 'f:spec', 'f:volumes', 'k:{"name":"models"}', 'f:emptyDir']);
    const ops = replaceDriftedElements(intent, liveObject(taken, [{ name: 'scratch', emptyDir: {} }, { name: 'models', hostPath: { path: '/x' } }]), 'op');
    expect(ops).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '42' },
      { op: 'replace', path: '/spec/template/spec/volumes/1', value: { name: 'models', emptyDir: {} } },
    ]);
  });

  it('replaces the deepest element that lost a field, not its container', () => {
    const taken = without(applied, ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"server"}', 'f:env', 'k:{"name":"MODEL"}', 'f:value']);
    const ops = replaceDriftedElements(intent, liveObject(taken, [{ name: 'models', emptyDir: {} }]), 'op');
    expect(ops.map((o) => o.path)).toEqual(['/metadata/resourceVersion', '/spec/template/spec/containers/0/env/0']);
  });

  it('has nothing to do when the manager owns its whole intent', () => {
    expect(replaceDriftedElements(intent, liveObject(applied, [{ name: 'models', emptyDir: {} }]), 'op')).toEqual([]);
  });
});
