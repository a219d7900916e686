import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_NAME_LENGTH } from '../api/v1/aimodel.ts';
import { dns1035Label } from '../api/v1/arbitrary.ts';
import { isDns1035Label } from '../api/v1/formats.ts';
import { type ChildKind, childName, endpointFor, selectorFor } from './names.ts';
import { aimodel } from './testing.ts';

const KINDS: ChildKind[] = ['Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'PersistentVolumeClaim'];
const named = (name: string) => ({ metadata: { name } });

describe('childName', () => {
  it.each([
    ['Deployment', 'gpt-4o-agent'],
    ['Service', 'gpt-4o-agent'],
    ['HorizontalPodAutoscaler', 'gpt-4o-agent'],
    ['PodDisruptionBudget', 'gpt-4o-agent'],
    ['PersistentVolumeClaim', 'gpt-4o-agent-models'],
  ] as [ChildKind, string][])('%s → %s', (kind, expected) => {
    expect(childName(named('gpt-4o-agent'), kind)).toBe(expected);
  });

  it('keeps the longest admitted name readable: no hashing below the CRD cap', () => {
    const longest = 'm'.repeat(MAX_NAME_LENGTH);
    for (const kind of KINDS) expect(childName(named(longest), kind).startsWith(longest)).toBe(true);
    expect(childName(named(longest), 'PersistentVolumeClaim')).toBe(`${longest}-models`);
  });

  it('shortens names beyond the cap with a hash, staying a DNS-1035 label', () => {
    const name = `a${'b-'.repeat(40)}c`;
    const result = childName(named(name), 'PersistentVolumeClaim');
    expect(result).toHaveLength(63);
    expect(result).toMatch(/^ab-b-.*b-[0-9a-f]{8}$/);
    expect(isDns1035Label(result)).toBe(true);
  });

  it('gives every valid name, however long, a valid child name, distinct per name', () => {
    fc.assert(
      fc.property(dns1035Label(253), dns1035Label(253), fc.constantFrom(...KINDS), (a, b, kind) => {
        const childA = childName(named(a), kind);
        expect(isDns1035Label(childA), childA).toBe(true);
        if (a !== b) expect(childA).not.toBe(childName(named(b), kind));
      }),
      { numRuns: 500 },
    );
  });
});

describe('status helpers', () => {
  it('endpointFor points at the Service port on the cluster domain', () => {
    expect(endpointFor(aimodel())).toBe('http://gpt-4o-agent.models.svc.cluster.local:8000');
    expect(endpointFor(aimodel({ port: 9000, service: { port: 80 } }), 'corp.internal')).toBe(
      'http://gpt-4o-agent.models.svc.corp.internal:80',
    );
  });

  it('selectorFor is the stable pod selector in string form', () => {
    expect(selectorFor(aimodel())).toBe('app.kubernetes.io/instance=gpt-4o-agent,app.kubernetes.io/name=aimodel');
  });
});
