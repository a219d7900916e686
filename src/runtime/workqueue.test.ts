import { describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from './clock.ts';
import { ItemExponentialFailureRateLimiter } from './ratelimiter.ts';
import { WorkQueue, type WorkQueueMetricsProvider } from './workqueue.ts';

function newQueue(clock = new FakeClock(0), metricsProvider?: WorkQueueMetricsProvider): WorkQueue<string> {
  return new WorkQueue<string>({
    name: 'test',
    clock,
    rateLimiter: new ItemExponentialFailureRateLimiter(5, 1_000_000),
    metricsProvider,
  });
}

function recordingProvider() {
  const values: Record<string, number> = {
    depth: 0,
    adds: 0,
    retries: 0,
    unfinished: 0,
    longest: 0,
  };
  const observed: Record<string, number[]> = { latency: [], work: [] };
  const provider: WorkQueueMetricsProvider = {
    newDepthMetric: () => ({ inc: () => values.depth!++, dec: () => values.depth!-- }),
    newAddsMetric: () => ({ inc: () => values.adds!++ }),
    newLatencyMetric: () => ({ observe: (v) => observed.latency!.push(v) }),
    newWorkDurationMetric: () => ({ observe: (v) => observed.work!.push(v) }),
    newUnfinishedWorkSecondsMetric: () => ({ set: (v) => (values.unfinished = v) }),
    newLongestRunningProcessorSecondsMetric: () => ({ set: (v) => (values.longest = v) }),
    newRetriesMetric: () => ({ inc: () => values.retries!++ }),
  };
  return { provider, values, observed };
}

describe('WorkQueue', () => {
  it('deduplicates adds of a queued key and hands keys out FIFO', async () => {
    const q = newQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.len()).toBe(0);
  });

  it('never hands a key to two workers; an add during processing re-queues it once after done', async () => {
    const q = newQueue();
    q.add('a');
    const first = await q.get();
    expect(first).toBe('a');

    q.add('a');
    q.add('a');
    q.add('a');
    // While 'a' is processing the re-add is held back, so a second worker gets nothing.
    expect(q.len()).toBe(0);
    let second: string | undefined = 'pending';
    const waiter = q.get().then((k) => (second = k));
    await flushMicrotasks();
    expect(second).toBe('pending');

    q.done('a');
    await waiter;
    expect(second).toBe('a');
    expect(q.len()).toBe(0);
    q.done('a');
    expect(q.len()).toBe(0); // re-queued exactly once
  });

  it('wakes blocked getters in order as items arrive', async () => {
    const q = newQueue();
    const got: Array<string | undefined> = [];
    const g1 = q.get().then((k) => got.push(k));
    const g2 = q.get().then((k) => got.push(k));
    q.add('x');
    q.add('y');
    await Promise.all([g1, g2]);
    expect(got).toEqual(['x', 'y']);
  });

  it('addAfter delays and keeps the earliest deadline per key', async () => {
    const clock = new FakeClock(0);
    const q = newQueue(clock);
    q.addAfter('a', 100);
    q.addAfter('a', 50);
    q.addAfter('a', 500);
    q.addAfter('b', 0); // immediate
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('b');
    clock.advance(49);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
    clock.advance(1000);
    expect(q.len()).toBe(1); // the later deadlines were dropped, not queued again
    expect(clock.pendingTimers()).toBe(0);
  });

  it('addRateLimited backs off exponentially per key until forget', () => {
    const clock = new FakeClock(0);
    const q = newQueue(clock);
    q.addRateLimited('a');
    q.addRateLimited('a'); // waiting entry at 5 ms wins over 10 ms
    expect(q.numRequeues('a')).toBe(2);
    clock.advance(5);
    expect(q.len()).toBe(1);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
  });

  it('shutDownWithDrain stops handing out items and resolves when in-flight items are done', async () => {
    const clock = new FakeClock(0);
    const q = newQueue(clock);
    q.add('a');
    q.add('b');
    q.add('c');
    const a = await q.get();
    const b = await q.get();
    q.addAfter('late', 10);

    let drained = false;
    const drain = q.shutDownWithDrain().then(() => (drained = true));
    expect(await q.get()).toBeUndefined(); // 'c' is not handed out after shutdown
    q.add('d');
    expect(q.len()).toBe(1); // only 'c' remains; 'd' was ignored
    clock.advance(10);
    expect(q.len()).toBe(1); // delayed adds are cancelled too

    q.done(a!);
    await flushMicrotasks();
    expect(drained).toBe(false);
    q.done(b!);
    await drain;
    expect(drained).toBe(true);
  });

  it('pending getters resolve undefined on shutdown', async () => {
    const q = newQueue();
    const g = q.get();
    q.shutDown();
    expect(await g).toBeUndefined();
    expect(q.shuttingDown).toBe(true);
  });

  it('an add during processing is dropped if the queue shuts down before done', async () => {
    const q = newQueue();
    q.add('a');
    await q.get();
    q.add('a');
    const drain = q.shutDownWithDrain();
    q.done('a');
    await drain;
    expect(q.len()).toBe(0);
  });

  it('feeds the metrics provider like client-go', async () => {
    const clock = new FakeClock(0);
    const { provider, values, observed } = recordingProvider();
    const q = newQueue(clock, provider);
    q.add('a');
    q.add('a'); // deduplicated: not counted
    q.add('b');
    expect(values.adds).toBe(2);
    expect(values.depth).toBe(2);

    clock.advance(2000);
    const a = await q.get();
    expect(values.depth).toBe(1);
    expect(observed.latency).toEqual([2]);

    clock.advance(1500); // the 500 ms ticker refreshes unfinished-work gauges
    expect(values.unfinished).toBeCloseTo(1.5);
    expect(values.longest).toBeCloseTo(1.5);
    const b = await q.get();
    clock.advance(500);
    expect(values.unfinished).toBeCloseTo(2.0 + 0.5);
    expect(values.longest).toBeCloseTo(2.0);

    q.done(a!);
    q.done(b!);
    expect(observed.work).toEqual([2, 0.5]);
    clock.advance(500);
    expect(values.unfinished).toBe(0);
    expect(values.longest).toBe(0);
    expect(clock.pendingTimers()).toBe(0); // idle queue keeps no ticker

    q.addAfter('c', 10);
    q.addRateLimited('c');
    expect(values.retries).toBe(2);
  });
});
