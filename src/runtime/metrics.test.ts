import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from './clock.ts';
import { Controller, TerminalError, type Request, type Result } from './controller.ts';
import { FakeListWatcher } from './fakes.ts';
import { Informer, type KubeObject } from './informer.ts';
import { createMetrics, startMetricsServer, WORKQUEUE_DURATION_BUCKETS } from './metrics.ts';
import { parseAddress, type ServerHandle } from './server.ts';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** Parses exposition text into "name{labels}" → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe('metrics', () => {
  it('exposes controller-runtime and client-go metrics with exact names, labels and buckets', async () => {
    const m = createMetrics();
    const clock = new FakeClock(0);
    const lw = new FakeListWatcher<KubeObject>();
    lw.upsert({ metadata: { namespace: 'ns', name: 'ok' } });
    lw.upsert({ metadata: { namespace: 'ns', name: 'bad' } });
    lw.upsert({ metadata: { namespace: 'ns', name: 'later' } });
    const informer = new Informer<KubeObject>({ name: 'things', listWatcher: lw, clock, staleAfterMs: 86_400_000 });
    const done: string[] = [];
    const controller = new Controller({
      name: 'aimodel',
      workers: 1, // sequential, so each reconcile's measured time is exactly its own 250 ms
      clock,
      metrics: m.controller,
      workqueueMetrics: m.workqueue,
      reconciler: {
        async reconcile(req: Request): Promise<Result> {
          clock.advance(250); // the reconcile "takes" 250 ms
          done.push(req.name);
          if (req.name === 'bad') throw new TerminalError('invalid');
          if (req.name === 'later') return { requeueAfterMs: 60_000 };
          return {};
        },
      },
    }).watchPrimary(informer);
    const ac = new AbortController();
    const inf = informer.start(ac.signal);
    const run = controller.start(ac.signal);
    await informer.waitForSync();
    while (done.length < 3) await flushMicrotasks();
    m.observeRequest({ method: 'get', host: '10.0.0.1:6443', code: 200, durationSeconds: 0.02 });
    m.observeRequest({ method: 'PATCH', host: '10.0.0.1:6443', code: '<error>', durationSeconds: 1.5 });
    m.leaderElection.setLeader('aimodel-operator', true);

    const text = await m.registry.metrics();
    const s = samples(text);
    const c = 'controller="aimodel"';
    expect(s.get(`controller_runtime_reconcile_total{${c},result="success"}`)).toBe(1);
    expect(s.get(`controller_runtime_reconcile_total{${c},result="error"}`)).toBe(1);
    expect(s.get(`controller_runtime_reconcile_total{${c},result="requeue_after"}`)).toBe(1);
    expect(s.get(`controller_runtime_reconcile_total{${c},result="requeue"}`)).toBe(0);
    expect(s.get(`controller_runtime_reconcile_errors_total{${c}}`)).toBe(1);
    expect(s.get(`controller_runtime_terminal_reconcile_errors_total{${c}}`)).toBe(1);
    expect(s.get(`controller_runtime_reconcile_panics_total{${c}}`)).toBe(0);
    expect(s.get(`controller_runtime_max_concurrent_reconciles{${c}}`)).toBe(1);
    expect(s.get(`controller_runtime_active_workers{${c}}`)).toBe(0);
    expect(s.get(`controller_runtime_reconcile_time_seconds_count{${c}}`)).toBe(3);
    expect(s.get(`controller_runtime_reconcile_time_seconds_bucket{le="0.25",${c}}`)).toBe(3);
    expect(s.get(`controller_runtime_reconcile_time_seconds_bucket{le="0.2",${c}}`)).toBe(0);
    const reconcileLe = [...text.matchAll(/controller_runtime_reconcile_time_seconds_bucket\{le="([^"]+)"/g)].map((x) => x[1]);
    expect(reconcileLe).toEqual([
      '0.005', '0.01', '0.025', '0.05', '0.1', '0.15', '0.2', '0.25', '0.3', '0.35', '0.4', '0.45', '0.5', '0.6', '0.7', '0.8',
      '0.9', '1', '1.25', '1.5', '1.75', '2', '2.5', '3', '3.5', '4', '4.5', '5', '6', '7', '8', '9', '10', '15', '20', '25', '30',
      '40', '50', '60', '+Inf',
    ]);

    const q = 'name="aimodel",controller="aimodel"';
    expect(s.get(`workqueue_adds_total{${q}}`)).toBe(3);
    expect(s.get(`workqueue_depth{${q}}`)).toBe(0);
    expect(s.get(`workqueue_retries_total{${q}}`)).toBe(1); // the requeueAfter
    expect(s.get(`workqueue_queue_duration_seconds_count{${q}}`)).toBe(3);
    expect(s.get(`workqueue_work_duration_seconds_count{${q}}`)).toBe(3);
    expect(s.has(`workqueue_unfinished_work_seconds{${q}}`)).toBe(true);
    expect(s.has(`workqueue_longest_running_processor_seconds{${q}}`)).toBe(true);
    const wqLe = [...text.matchAll(/workqueue_work_duration_seconds_bucket\{le="([^"]+)"/g)].map((x) => Number(x[1]));
    expect(wqLe.slice(0, -1)).toEqual([1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1000]);
    expect(WORKQUEUE_DURATION_BUCKETS).toHaveLength(12);

    expect(s.get('rest_client_requests_total{code="200",method="GET",host="10.0.0.1:6443"}')).toBe(1);
    expect(s.get('rest_client_requests_total{code="<error>",method="PATCH",host="10.0.0.1:6443"}')).toBe(1);
    expect(s.get('rest_client_request_duration_seconds_count{verb="GET",host="10.0.0.1:6443"}')).toBe(1);
    expect(s.get('leader_election_master_status{name="aimodel-operator"}')).toBe(1);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);

    ac.abort();
    await Promise.all([run, inf]);
  });

  it('serves GET /metrics on an ephemeral port', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.leaderElection.setLeader('x', false);
    const server: ServerHandle = await startMetricsServer({ address: '127.0.0.1:0', registry: m.registry });
    closers.push(() => server.close());
    expect(server.port).toBeGreaterThan(0);
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toContain('leader_election_master_status{name="x"} 0');
    expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('parses bind addresses', () => {
    expect(parseAddress(':8080')).toEqual({ host: undefined, port: 8080 });
    expect(parseAddress('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseAddress('[::1]:9090')).toEqual({ host: '::1', port: 9090 });
    expect(() => parseAddress('8080')).toThrow();
    expect(() => parseAddress(':http')).toThrow();
  });
});
