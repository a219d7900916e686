import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';
import { EventLoopMonitor, HealthProbes, informersSynced, startHealthServer } from './health.ts';
import { MemoryLogger } from './logger.ts';
import type { ServerHandle } from './server.ts';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function serve(probes: HealthProbes, logger?: MemoryLogger): Promise<(path: string) => Promise<{ status: number; body: string }>> {
  const server: ServerHandle = await startHealthServer({ address: '127.0.0.1:0', probes, ...(logger ? { logger } : {}) });
  closers.push(() => server.close());
  return async (path) => {
    const res = await fetch(`http://127.0.0.1:${server.port}${path}`);
    return { status: res.status, body: await res.text() };
  };
}

describe('health server', () => {
  it('serves /healthz and /readyz with named checks, ?verbose, ?exclude and per-check paths', async () => {
    const probes = new HealthProbes();
    let synced = false;
    probes.addHealthzCheck('ping', () => {});
    probes.addReadyzCheck('informers-synced', () => {
      if (!synced) throw new Error('caches not synced: aimodels');
    });
    probes.addReadyzCheck('leader-workers', async () => {});
    const get = await serve(probes);

    expect(await get('/healthz')).toEqual({ status: 200, body: 'ok' });
    expect(await get('/healthz?verbose')).toEqual({ status: 200, body: '[+]ping ok\nhealthz check passed\n' });

    expect(await get('/readyz')).toEqual({
      status: 500,
      body: '[-]informers-synced failed: caches not synced: aimodels\n[+]leader-workers ok\nreadyz check failed\n',
    });
    expect(await get('/readyz?exclude=informers-synced')).toEqual({ status: 200, body: 'ok' });
    expect((await get('/readyz?verbose&exclude=informers-synced')).body).toContain('[+]informers-synced excluded: ok');
    expect(await get('/readyz/leader-workers')).toEqual({ status: 200, body: 'ok' });
    expect((await get('/readyz/informers-synced')).status).toBe(500);
    expect((await get('/readyz/nope')).status).toBe(404);
    expect((await get('/other')).status).toBe(404);

    synced = true;
    expect(await get('/readyz')).toEqual({ status: 200, body: 'ok' });
  });

  it('logs a failing probe when the failure starts or changes, not on every probe', async () => {
    const probes = new HealthProbes();
    let problem: string | undefined = 'caches not synced: aimodels';
    probes.addReadyzCheck('informers-synced', () => {
      if (problem) throw new Error(problem);
    });
    const log = new MemoryLogger();
    const get = await serve(probes, log);
    const logged = () => log.records.filter((r) => r.msg === 'probe failed').map((r) => String(r.obj.body).split('\n')[0]);

    for (let i = 0; i < 3; i++) expect((await get('/readyz')).status).toBe(500);
    expect(logged()).toEqual(['[-]informers-synced failed: caches not synced: aimodels']);
    problem = 'caches cannot reach the API server: aimodels';
    await get('/readyz');
    await get('/readyz');
    problem = undefined;
    expect((await get('/readyz')).status).toBe(200);
    problem = 'caches not synced: aimodels';
    await get('/readyz');
    expect(logged()).toEqual([
      '[-]informers-synced failed: caches not synced: aimodels',
      '[-]informers-synced failed: caches cannot reach the API server: aimodels',
      '[-]informers-synced failed: caches not synced: aimodels',
    ]);
  });

  it('informersSynced names the caches still syncing', () => {
    const a = { name: 'aimodels', synced: false, hasSynced() { return this.synced; } };
    const b = { name: 'deployments', synced: true, hasSynced() { return this.synced; } };
    const check = informersSynced([a, b]);
    expect(() => check()).toThrow('caches not synced: aimodels');
    a.synced = true;
    expect(() => check()).not.toThrow();
  });

  it('rejects duplicate and malformed check names', () => {
    const probes = new HealthProbes();
    probes.addReadyzCheck('a', () => {});
    expect(() => probes.addReadyzCheck('a', () => {})).toThrow(/already/);
    expect(() => probes.addReadyzCheck('Bad Name', () => {})).toThrow(/invalid/);
  });
});

describe('EventLoopMonitor', () => {
  it('is healthy while its timer fires on time and unhealthy when the loop was or is blocked', () => {
    const clock = new FakeClock(0);
    const monitor = new EventLoopMonitor({ clock, intervalMs: 1000, thresholdMs: 5000 });
    expect(() => monitor.check()).toThrow(/not running/);
    monitor.start();
    clock.advance(10_000);
    expect(() => monitor.check()).not.toThrow();
    expect(monitor.lagMs()).toBe(0);

    // The loop is stuck: time passes but the timer (due at 11 s) cannot run.
    clock.jump(4000);
    expect(() => monitor.check()).not.toThrow(); // 3 s overdue, under the threshold
    clock.jump(2001);
    expect(() => monitor.check()).toThrow(/event loop blocked for 5001 ms/);

    // When the loop unblocks, the late tick records the lag; the next on-time tick clears it.
    clock.advance(0);
    expect(() => monitor.check()).toThrow(/blocked/);
    clock.advance(1000);
    expect(() => monitor.check()).not.toThrow();
    monitor.stop();
    expect(clock.pendingTimers()).toBe(0);
  });
});
