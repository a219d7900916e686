import { describe, expect, it } from 'vitest';
import { intentHash, upToDate, withIntentHash } from './intent.ts';

describe('intent hash', () => {
  it('does not depend on key order', () => {
    expect(intentHash({ a: 1, b: { c: 2, d: 3 } })).toBe(intentHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(intentHash({ a: 1 })).not.toBe(intentHash({ a: 2 }));
  });

  it('makes upToDate notice a field dropped from the intent', () => {
    const before = withIntentHash({ metadata: { name: 'x' }, spec: { image: 'a', nodeSelector: { gpu: 'yes' } } });
    const after = withIntentHash({ metadata: { name: 'x' }, spec: { image: 'a' } });
    const fields = { 'f:metadata': { 'f:annotations': { 'f:ai.openai.com/applied-intent': {} } }, 'f:spec': { 'f:image': {}, 'f:nodeSelector': { 'f:gpu': {} } } };
    const live = { ...structuredClone(before), metadata: { ...before.metadata, managedFields: [{ manager: 'op', operation: 'Apply', fieldsV1: fields }] } };
    expect(upToDate(before, live, 'op')).toBe(true);
    expect(upToDate(after, live, 'op')).toBe(false);
    expect(JSON.stringify(after.metadata)).not.toBe(JSON.stringify(before.metadata));
  });

  it('is false for an absent object', () => {
    expect(upToDate(withIntentHash({ metadata: { name: 'x' } }), undefined, 'op')).toBe(false);
  });
});
