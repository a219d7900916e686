import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
} from './ratelimiter.ts';

describe('ItemExponentialFailureRateLimiter', () => {
  it('backs off 5ms·2^n per key and caps at 1000 s', () => {
    const rl = new ItemExponentialFailureRateLimiter();
    const delays = Array.from({ length: 20 }, () => rl.when('a'));
    expect(delays.slice(0, 5)).toEqual([5, 10, 20, 40, 80]);
    expect(delays[17]).toBe(5 * 2 ** 17); // 655.36 s, still below the cap
    expect(delays[18]).toBe(1_000_000);
    expect(delays[19]).toBe(1_000_000);
    expect(rl.numRequeues('a')).toBe(20);
    // Keys are independent.
    expect(rl.when('b')).toBe(5);
    rl.forget('a');
    expect(rl.numRequeues('a')).toBe(0);
    expect(rl.when('a')).toBe(5);
  });

  it('stays at the cap for huge failure counts', () => {
    const rl = new ItemExponentialFailureRateLimiter(5, 1_000_000);
    for (let i = 0; i < 2000; i++) rl.when('k');
    expect(rl.when('k')).toBe(1_000_000);
  });
});

describe('BucketRateLimiter', () => {
  it('allows a burst of 100 then spaces calls at 10 qps, refilling over time', () => {
    const clock = new FakeClock(0);
    const rl = new BucketRateLimiter({ clock });
    for (let i = 0; i < 100; i++) expect(rl.when(`k${i}`)).toBe(0);
    expect(rl.when('x')).toBeCloseTo(100);
    expect(rl.when('y')).toBeCloseTo(200);
    clock.advance(1000); // +10 tokens, debt was 2
    expect(rl.when('z')).toBe(0);
    expect(rl.numRequeues('z')).toBe(0);
  });
});

describe('MaxOfRateLimiter', () => {
  it('returns the longest delay and forgets in all limiters', () => {
    const clock = new FakeClock(0);
    const limiter = new MaxOfRateLimiter(
      new ItemExponentialFailureRateLimiter(5, 1_000_000),
      new BucketRateLimiter({ qps: 1, burst: 1, clock }),
    );
    expect(limiter.when('a')).toBe(5); // bucket had a token
    expect(limiter.when('a')).toBeCloseTo(1000); // bucket now in debt by one token at 1 qps
    expect(limiter.numRequeues('a')).toBe(2);
    limiter.forget('a');
    expect(limiter.numRequeues('a')).toBe(0);
  });

  it('default controller limiter is max(exponential, 10qps/100 burst)', () => {
    const clock = new FakeClock(0);
    const rl = defaultControllerRateLimiter(clock);
    expect(rl.when('a')).toBe(5);
    expect(rl.when('a')).toBe(10);
    for (let i = 0; i < 98; i++) rl.when(`other${i}`);
    // Bucket exhausted: the shared limit dominates a key's small exponential delay.
    expect(rl.when('fresh')).toBeCloseTo(100);
  });
});
