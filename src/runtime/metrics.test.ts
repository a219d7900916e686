import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from './clock.ts';
import type { AccessReviewer, UserInfo } from './metricsauth.ts';
import { selfSignedCertificate } from './tls.ts';
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

/** GET over HTTPS; the peer certificate is returned so tests can tell which one was served. */
function httpsGet(port: number, opts: { token?: string; path?: string; ca?: string } = {}): Promise<{ status: number; body: string; headers: Record<string, unknown>; peer: PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: opts.path ?? '/metrics',
        servername: 'localhost',
        agent: false,
        ...(opts.ca ? { ca: opts.ca } : { rejectUnauthorized: false }),
        headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
      },
      (res) => {
        const peer = (res.socket as TLSSocket).getPeerCertificate();
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers, peer }));
      },
    );
    req.on('error', reject).end();
  });
}

describe('secure metrics serving', () => {
  const reader: UserInfo = { username: 'system:serviceaccount:monitoring:prometheus', groups: ['system:serviceaccounts'] };
  const stranger: UserInfo = { username: 'system:serviceaccount:default:stranger' };
  const reviewer: AccessReviewer = {
    authenticate: async (token) => ({ 'reader-token': reader, 'stranger-token': stranger })[token],
    authorize: async (user, { verb, path }) => ({ allowed: user.username === reader.username && verb === 'get' && path === '/metrics' }),
  };

  async function start(secure: Parameters<typeof startMetricsServer>[0]['secure']) {
    const m = createMetrics({ defaultMetrics: false });
    m.leaderElection.setLeader('x', true);
    const server = await startMetricsServer({ address: '127.0.0.1:0', registry: m.registry, secure });
    closers.push(() => server.close());
    return server;
  }

  it('answers 401 without or with a rejected token, 403 without the grant, and the metrics with it, over a self-signed certificate', async () => {
    const server = await start({ reviewer, selfSignedHosts: ['localhost'] });
    const anonymous = await httpsGet(server.port);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Bearer');
    expect(anonymous.body).not.toContain('leader_election_master_status');
    expect((await httpsGet(server.port, { token: 'forged' })).status).toBe(401);
    const forbidden = await httpsGet(server.port, { token: 'stranger-token' });
    expect(forbidden).toMatchObject({ status: 403, body: 'Authorization denied for user system:serviceaccount:default:stranger\n' });
    // Every path is guarded, as controller-runtime's filter guards the whole server.
    expect((await httpsGet(server.port, { path: '/other' })).status).toBe(401);
    expect((await httpsGet(server.port, { token: 'reader-token', path: '/other' })).status).toBe(403);

    const allowed = await httpsGet(server.port, { token: 'reader-token' });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toContain('leader_election_master_status{name="x"} 1');
    expect(allowed.peer.subject.CN).toBe('metrics');
    expect(allowed.peer.issuer.CN).toBe('metrics');
    expect(allowed.peer.subjectaltname).toBe('DNS:localhost');

    // Plain HTTP gets nothing from the TLS port.
    await expect(fetch(`http://127.0.0.1:${server.port}/metrics`)).rejects.toThrow();
  });

  it('serves the certificate from files, verifiable by a client that trusts it, and picks up a rotated one', async () => {
    const first = selfSignedCertificate({ commonName: 'first', hosts: ['localhost'] });
    const second = selfSignedCertificate({ commonName: 'second', hosts: ['localhost'] });
    const dir = await mkdtemp(join(tmpdir(), 'aimodel-metrics-tls-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'cert.pem'), first.cert);
    await writeFile(join(dir, 'key.pem'), first.key);
    const clock = new FakeClock();
    const server = await start({ reviewer, certFiles: { dir, certName: 'cert.pem', keyName: 'key.pem' }, clock });

    const verified = await httpsGet(server.port, { token: 'reader-token', ca: first.cert });
    expect(verified.status).toBe(200);
    expect(verified.peer.fingerprint256).toBe(new X509Certificate(first.cert).fingerprint256);
    await expect(httpsGet(server.port, { token: 'reader-token', ca: second.cert })).rejects.toThrow(/self-signed|certificate/);

    await writeFile(join(dir, 'cert.pem'), second.cert);
    await writeFile(join(dir, 'key.pem'), second.key);
    clock.advance(10_000);
    const rotated = await httpsGet(server.port, { token: 'reader-token', ca: second.cert });
    expect(rotated.peer.fingerprint256).toBe(new X509Certificate(second.cert).fingerprint256);
  });

  it('refuses to start with a key that does not belong to the certificate', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aimodel-metrics-tls-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'tls.crt'), selfSignedCertificate({ commonName: 'a', hosts: ['localhost'] }).cert);
    await writeFile(join(dir, 'tls.key'), selfSignedCertificate({ commonName: 'b', hosts: ['localhost'] }).key);
    await expect(start({ reviewer, certFiles: { dir, certName: 'tls.crt', keyName: 'tls.key' } })).rejects.toThrow(/tls\.key is not the key of .*tls\.crt/);
  });
});
