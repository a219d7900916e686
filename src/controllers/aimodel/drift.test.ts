import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../runtime/clock.ts';
import { DriftBackoff, otherManagers } from './drift.ts';

describe('DriftBackoff', () => {
  it('allows the first correction at once and spaces the next ones exponentially', () => {
    const clock = new FakeClock(0);
    const drift = new DriftBackoff(clock, { baseMs: 1000, maxMs: 8000 });
    expect(drift.admit('d')).toBe(0);
    expect(drift.admit('d')).toBe(1000);
    clock.jump(1000);
    expect(drift.admit('d')).toBe(0);
    expect(drift.admit('d')).toBe(2000);
    clock.jump(2000);
    expect(drift.admit('d')).toBe(0);
    clock.jump(4000);
    expect(drift.admit('d')).toBe(0);
    clock.jump(7999);
    expect(drift.admit('d')).toBe(1);
    clock.jump(1);
    expect(drift.admit('d')).toBe(0);
    expect(drift.corrections('d')).toBe(5);
  });

  it('bounds corrections per minute however often the other writer strikes', () => {
    const clock = new FakeClock(0);
    const drift = new DriftBackoff(clock);
    let writes = 0;
    for (let t = 0; t < 60_000; t += 100) {
      if (drift.admit('d') === 0) writes++;
      clock.jump(100);
    }
    expect(writes).toBeLessThanOrEqual(7);
    expect(writes).toBeGreaterThanOrEqual(5);
  });

  it('forgets an object after a quiet period and keeps objects apart', () => {
    const clock = new FakeClock(0);
    const drift = new DriftBackoff(clock, { forgetAfterMs: 60_000 });
    drift.admit('a');
    drift.admit('a');
    expect(drift.admit('b')).toBe(0);
    clock.jump(60_000);
    expect(drift.admit('a')).toBe(0);
    expect(drift.corrections('a')).toBe(1);
  });
});

describe('otherManagers', () => {
  it('lists the other writers, most recent first, ignoring status and excluded managers', () => {
    const fields = [
      { manager: 'aimodel-operator', operation: 'Apply', time: '2026-01-01T00:00:03Z' },
      { manager: 'kubectl-set', operation: 'Update', time: '2026-01-01T00:00:02Z' },
      { manager: 'rogue-controller', operation: 'Apply', time: '2026-01-01T00:00:05Z' },
      { manager: 'kube-controller-manager', operation: 'Update', time: '2026-01-01T00:00:09Z', subresource: 'status' },
    ];
    expect(otherManagers(fields, ['aimodel-operator'])).toEqual(['rogue-controller', 'kubectl-set']);
    expect(otherManagers(undefined, [])).toEqual([]);
  });
});
