import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { intentHash, satisfies, upToDate, withIntentHash } from './intent.ts';

describe('satisfies', () => {
  it('ignores fields the server or others add', () => {
    expect(satisfies({ spec: { image: 'a' } }, { spec: { image: 'a', imagePullPolicy: 'Always' }, status: {} })).toBe(true);
  });

  it('detects a changed field the intent sets', () => {
    expect(satisfies({ spec: { image: 'a' } }, { spec: { image: 'b' } })).toBe(false);
    expect(satisfies({ spec: { replicas: 3 } }, { spec: {} })).toBe(false);
  });

  it('compares quantities by value', () => {
    expect(satisfies({ cpu: '0.5', memory: '1024Mi' }, { cpu: '500m', memory: '1Gi' })).toBe(true);
    expect(satisfies({ cpu: '1' }, { cpu: '500m' })).toBe(false);
  });

  it('treats empty lists and maps, and zero values as absent', () => {
    expect(satisfies({ tolerations: [], labels: {} }, {})).toBe(true);
    expect(satisfies({ probe: { initialDelaySeconds: 0, hostNetwork: false, path: '' } }, { probe: {} })).toBe(true);
    expect(satisfies({ probe: { initialDelaySeconds: 0 } }, { probe: { initialDelaySeconds: 5 } })).toBe(false);
  });

  it('compares lists element by element with equal length', () => {
    expect(satisfies({ c: [{ name: 'a' }] }, { c: [{ name: 'a', extra: 1 }] })).toBe(true);
    expect(satisfies({ c: [{ name: 'a' }] }, { c: [{ name: 'a' }, { name: 'b' }] })).toBe(false);
    expect(satisfies({ c: [{ name: 'a' }, { name: 'b' }] }, { c: [{ name: 'b' }, { name: 'a' }] })).toBe(false);
  });

  it('holds for any JSON value against itself', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => satisfies(v, v)));
  });
});

describe('intent hash', () => {
  it('does not depend on key order', () => {
    expect(intentHash({ a: 1, b: { c: 2, d: 3 } })).toBe(intentHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(intentHash({ a: 1 })).not.toBe(intentHash({ a: 2 }));
  });

  it('makes upToDate notice a field dropped from the intent', () => {
    const before = withIntentHash({ metadata: { name: 'x' }, spec: { image: 'a', nodeSelector: { gpu: 'yes' } } });
    const after = withIntentHash({ metadata: { name: 'x' }, spec: { image: 'a' } });
    const live = structuredClone(before);
    expect(upToDate(before, live)).toBe(true);
    expect(satisfies(after, live)).toBe(false); // the hash annotation differs
    expect(upToDate(after, live)).toBe(false);
    expect(JSON.stringify(after.metadata)).not.toBe(JSON.stringify(before.metadata));
  });

  it('is false for an absent object', () => {
    expect(upToDate(withIntentHash({ metadata: { name: 'x' } }), undefined)).toBe(false);
  });
});
