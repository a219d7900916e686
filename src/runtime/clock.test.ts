import { describe, expect, it } from 'vitest';
import { FakeClock, sleep } from './clock.ts';

describe('FakeClock', () => {
  it('fires due timers in due order with now() at each due time', () => {
    const clock = new FakeClock(1000);
    const fired: Array<[string, number]> = [];
    clock.setTimeout(() => fired.push(['b', clock.now()]), 20);
    clock.setTimeout(() => fired.push(['a', clock.now()]), 10);
    clock.setTimeout(() => fired.push(['a2', clock.now()]), 10);
    const c = clock.setTimeout(() => fired.push(['cleared', clock.now()]), 5);
    clock.clearTimeout(c);
    clock.advance(15);
    expect(fired).toEqual([
      ['a', 1010],
      ['a2', 1010],
    ]);
    expect(clock.now()).toBe(1015);
    clock.advance(100);
    expect(fired.at(-1)).toEqual(['b', 1020]);
    expect(clock.now()).toBe(1115);
  });

  it('fires timers scheduled by timers within the same advance', () => {
    const clock = new FakeClock(0);
    const times: number[] = [];
    const tick = (): void => {
      times.push(clock.now());
      clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    clock.advance(35);
    expect(times).toEqual([10, 20, 30]);
  });

  it('sleep resolves on the clock and early on abort', async () => {
    const clock = new FakeClock(0);
    let done = false;
    const p = sleep(clock, 50).then(() => (done = true));
    await clock.advanceAsync(49);
    expect(done).toBe(false);
    await clock.advanceAsync(1);
    await p;
    expect(done).toBe(true);

    const ac = new AbortController();
    const q = sleep(clock, 1_000_000, ac.signal);
    ac.abort();
    await q;
    expect(clock.pendingTimers()).toBe(0);
  });
});
