import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StringInterner } from './intern.ts';

describe('StringInterner', () => {
  it('leaves every value of an object equal to what it was', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const interner = new StringInterner({ maxEntries: 16 });
        const copy = structuredClone(value);
        expect(interner.internValues(copy)).toEqual(value);
      }),
    );
  });

  it('keeps one entry per distinct string, and none for long strings or resourceVersions', () => {
    const interner = new StringInterner({ maxLength: 20 });
    const objects = [1, 2, 3].map((i) => ({
      metadata: { name: 'm', namespace: 'ns', resourceVersion: String(100 + i), labels: { a: 'aimodel-operator' } },
      spec: { list: ['m', 'ns', 'x'.repeat(21)] },
    }));
    for (const o of objects) interner.internValues(o);
    expect(interner.size).toBe(3); // 'm', 'ns', 'aimodel-operator'
    expect(objects[2]!.metadata.resourceVersion).toBe('103');
  });

  it('never holds more than maxEntries strings however many distinct values pass', () => {
    const interner = new StringInterner({ maxEntries: 100 });
    for (let i = 0; i < 1000; i++) {
      expect(interner.intern(`value-${i}`)).toBe(`value-${i}`);
      expect(interner.size).toBeLessThanOrEqual(100);
    }
    expect(interner.size).toBeGreaterThan(0);
  });
});
