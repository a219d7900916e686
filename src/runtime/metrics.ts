// Prometheus metrics with controller-runtime / client-go names, labels and buckets
// (operator-machinery.md §3.2), so stock controller-runtime dashboards and alerts work.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { hostname } from 'node:os';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { realClock, type Clock } from './clock.ts';
import type { ControllerMetrics, ReconcileResultLabel } from './controller.ts';
import { noopLogger, type Logger } from './logger.ts';
import { MetricsAuthFilter, type AccessReviewer } from './metricsauth.ts';
import { listen, type ServerHandle } from './server.ts';
import { readCertificateFiles, selfSignedCertificate, watchCertificateFiles, type CertificateFiles } from './tls.ts';
import type { WorkQueueMetricsProvider } from './workqueue.ts';

/** controller-runtime pkg/internal/controller/metrics: reconcile_time_seconds buckets. */
export const RECONCILE_TIME_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5,
  1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];

/** prometheus.ExponentialBuckets(10e-9, 10, 12): 1e-8 … 1e3 seconds. */
export const WORKQUEUE_DURATION_BUCKETS = Array.from({ length: 12 }, (_, i) => Number(`1e${i - 8}`));

/** k8s.io/component-base restclient request latency buckets. */
export const REST_CLIENT_DURATION_BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0];

const RESULTS: ReconcileResultLabel[] = ['success', 'error', 'requeue', 'requeue_after'];

export interface RequestObservation {
  method: string;
  host: string;
  /** HTTP status code, or '<error>' for transport failures (client-go's label). */
  code: number | string;
  durationSeconds: number;
}

export interface LeaderElectionMetrics {
  setLeader(leaseName: string, isLeader: boolean): void;
}

export interface OperatorMetrics {
  registry: Registry;
  controller: ControllerMetrics;
  workqueue: WorkQueueMetricsProvider;
  leaderElection: LeaderElectionMetrics;
  /** Called by the HTTP client once per API request. */
  observeRequest(o: RequestObservation): void;
}

export interface CreateMetricsOptions {
  /** Defaults to a fresh Registry (not prom-client's global one). */
  registry?: Registry;
  /** process_* and nodejs_* collectors; default true. */
  defaultMetrics?: boolean;
}

export function createMetrics(opts: CreateMetricsOptions = {}): OperatorMetrics {
  const registry = opts.registry ?? new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const ctrl = ['controller'] as const;
  const wq = ['name', 'controller'] as const;

  const reconcileTotal = new Counter({
    name: 'controller_runtime_reconcile_total',
    help: 'Total number of reconciliations per controller',
    labelNames: ['controller', 'result'] as const,
    registers,
  });
  const reconcileErrors = new Counter({
    name: 'controller_runtime_reconcile_errors_total',
    help: 'Total number of reconciliation errors per controller',
    labelNames: ctrl,
    registers,
  });
  const terminalErrors = new Counter({
    name: 'controller_runtime_terminal_reconcile_errors_total',
    help: 'Total number of terminal reconciliation errors per controller',
    labelNames: ctrl,
    registers,
  });
  const panics = new Counter({
    name: 'controller_runtime_reconcile_panics_total',
    help: 'Total number of reconciliation panics per controller',
    labelNames: ctrl,
    registers,
  });
  const reconcileTime = new Histogram({
    name: 'controller_runtime_reconcile_time_seconds',
    help: 'Length of time per reconciliation per controller',
    labelNames: ctrl,
    buckets: RECONCILE_TIME_BUCKETS,
    registers,
  });
  const maxConcurrent = new Gauge({
    name: 'controller_runtime_max_concurrent_reconciles',
    help: 'Maximum number of concurrent reconciles per controller',
    labelNames: ctrl,
    registers,
  });
  const activeWorkers = new Gauge({
    name: 'controller_runtime_active_workers',
    help: 'Number of currently used workers per controller',
    labelNames: ctrl,
    registers,
  });

  const depth = new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: wq, registers });
  const adds = new Counter({
    name: 'workqueue_adds_total',
    help: 'Total number of adds handled by workqueue',
    labelNames: wq,
    registers,
  });
  const latency = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'How long in seconds an item stays in workqueue before being requested',
    labelNames: wq,
    buckets: WORKQUEUE_DURATION_BUCKETS,
    registers,
  });
  const workDuration = new Histogram({
    name: 'workqueue_work_duration_seconds',
    help: 'How long in seconds processing an item from workqueue takes.',
    labelNames: wq,
    buckets: WORKQUEUE_DURATION_BUCKETS,
    registers,
  });
  const unfinished = new Gauge({
    name: 'workqueue_unfinished_work_seconds',
    help:
      "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. " +
      'Large values indicate stuck threads.',
    labelNames: wq,
    registers,
  });
  const longest = new Gauge({
    name: 'workqueue_longest_running_processor_seconds',
    help: 'How many seconds has the longest running processor for workqueue been running.',
    labelNames: wq,
    registers,
  });
  const retries = new Counter({
    name: 'workqueue_retries_total',
    help: 'Total number of retries handled by workqueue',
    labelNames: wq,
    registers,
  });

  const leader = new Gauge({
    name: 'leader_election_master_status',
    help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.',
    labelNames: ['name'] as const,
    registers,
  });
  const requests = new Counter({
    name: 'rest_client_requests_total',
    help: 'Number of HTTP requests, partitioned by status code, method, and host.',
    labelNames: ['code', 'method', 'host'] as const,
    registers,
  });
  const requestDuration = new Histogram({
    name: 'rest_client_request_duration_seconds',
    help: 'Request latency in seconds. Broken down by verb, and host.',
    labelNames: ['verb', 'host'] as const,
    buckets: REST_CLIENT_DURATION_BUCKETS,
    registers,
  });

  const controller: ControllerMetrics = {
    init(c, workers) {
      for (const result of RESULTS) reconcileTotal.inc({ controller: c, result }, 0);
      reconcileErrors.inc({ controller: c }, 0);
      terminalErrors.inc({ controller: c }, 0);
      panics.inc({ controller: c }, 0);
      maxConcurrent.set({ controller: c }, workers);
      activeWorkers.set({ controller: c }, 0);
    },
    reconcileTotal: (c, result) => reconcileTotal.inc({ controller: c, result }),
    reconcileError: (c) => reconcileErrors.inc({ controller: c }),
    terminalReconcileError: (c) => terminalErrors.inc({ controller: c }),
    reconcilePanic: (c) => panics.inc({ controller: c }),
    reconcileTime: (c, s) => reconcileTime.observe({ controller: c }, s),
    activeWorkers: (c, delta) => activeWorkers.inc({ controller: c }, delta),
  };

  // controller-runtime labels every workqueue series with name = controller = queue name.
  const workqueue: WorkQueueMetricsProvider = {
    newDepthMetric(name) {
      const labels = { name, controller: name };
      depth.set(labels, 0);
      return { inc: () => depth.inc(labels), dec: () => depth.dec(labels) };
    },
    newAddsMetric(name) {
      const labels = { name, controller: name };
      adds.inc(labels, 0);
      return { inc: () => adds.inc(labels) };
    },
    newLatencyMetric(name) {
      const labels = { name, controller: name };
      latency.zero(labels);
      return { observe: (v) => latency.observe(labels, v) };
    },
    newWorkDurationMetric(name) {
      const labels = { name, controller: name };
      workDuration.zero(labels);
      return { observe: (v) => workDuration.observe(labels, v) };
    },
    newUnfinishedWorkSecondsMetric(name) {
      const labels = { name, controller: name };
      unfinished.set(labels, 0);
      return { set: (v) => unfinished.set(labels, v) };
    },
    newLongestRunningProcessorSecondsMetric(name) {
      const labels = { name, controller: name };
      longest.set(labels, 0);
      return { set: (v) => longest.set(labels, v) };
    },
    newRetriesMetric(name) {
      const labels = { name, controller: name };
      retries.inc(labels, 0);
      return { inc: () => retries.inc(labels) };
    },
  };

  return {
    registry,
    controller,
    workqueue,
    leaderElection: { setLeader: (name, isLeader) => leader.set({ name }, isLeader ? 1 : 0) },
    observeRequest({ method, host, code, durationSeconds }) {
      const verb = method.toUpperCase();
      requests.inc({ code: String(code), method: verb, host });
      requestDuration.observe({ verb, host }, durationSeconds);
    },
  };
}

/**
 * Secure serving, as controller-runtime's SecureServing with the authentication filter: HTTPS,
 * and every request authenticated (TokenReview) and authorized (SubjectAccessReview).
 */
export interface SecureMetricsOptions {
  reviewer: AccessReviewer;
  /** Certificate and key files, re-read when they change; without them a self-signed certificate is made at start. */
  certFiles?: CertificateFiles;
  /** Names and IPs of the self-signed certificate (default: localhost, the host name, 127.0.0.1, ::1). */
  selfSignedHosts?: string[];
  clock?: Clock;
}

export async function startMetricsServer(opts: {
  address?: string;
  registry: Registry;
  logger?: Logger;
  /** Off: plain HTTP, anyone who reaches the port reads every series. */
  secure?: SecureMetricsOptions;
}): Promise<ServerHandle> {
  const log = opts.logger ?? noopLogger;
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    opts.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(req.method === 'HEAD' ? '' : body),
      (err: unknown) => {
        log.error({ err }, 'collecting metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
      },
    );
  };
  const secure = opts.secure;
  if (!secure) return listen(createServer(serve), opts.address ?? ':8080');

  const clock = secure.clock ?? realClock;
  const auth = new MetricsAuthFilter({ reviewer: secure.reviewer, clock });
  // As controller-runtime's filter, it guards the whole server: an unknown path is a 401 too.
  const guarded = (req: IncomingMessage, res: ServerResponse) => {
    auth.check(req).then(
      (decision) => {
        if (decision.ok) return serve(req, res);
        if (decision.status === 500) log.error({ err: decision.cause }, decision.message);
        else log.debug({ status: decision.status, path: req.url }, decision.message);
        res
          .writeHead(decision.status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', ...(decision.status === 401 ? { 'www-authenticate': 'Bearer' } : {}) })
          .end(`${decision.message}\n`);
      },
      (err: unknown) => {
        log.error({ err }, 'metrics authentication failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
      },
    );
  };
  const files = secure.certFiles;
  const certificate = files
    ? readCertificateFiles(files)
    : selfSignedCertificate({ commonName: 'metrics', hosts: secure.selfSignedHosts ?? ['localhost', hostname(), '127.0.0.1', '::1'] });
  if (!files) log.info({}, 'metrics served over HTTPS with a self-signed certificate made at start-up (no --metrics-cert-path)');
  const server = createHttpsServer({ ...certificate, minVersion: 'TLSv1.2' }, guarded);
  const watcher = files ? watchCertificateFiles(files, (pair) => server.setSecureContext({ ...pair, minVersion: 'TLSv1.2' }), { clock, logger: log, initial: certificate }) : undefined;
  try {
    const handle = await listen(server, opts.address ?? ':8080');
    return {
      port: handle.port,
      async close() {
        watcher?.stop();
        await handle.close();
      },
    };
  } catch (err) {
    watcher?.stop();
    throw err;
  }
}

export interface Sample<L extends string> {
  labels: Record<L, string>;
  value: number;
}

/**
 * Registers a gauge whose series are computed at each scrape from state the process holds
 * anyway (an informer cache), the way kube-state-metrics works. Nothing is stored per series
 * between scrapes, so thousands of objects cost no memory here and a deleted object's series
 * cannot outlive it.
 */
export function registerCollectedGauge<L extends string>(
  registry: Registry,
  opts: { name: string; help: string; labelNames: readonly L[]; collect: () => Iterable<Sample<L>> },
): void {
  const metric = {
    name: opts.name,
    help: opts.help,
    type: 'gauge',
    aggregator: 'sum',
    labelNames: opts.labelNames,
    get: async () => ({ name: opts.name, help: opts.help, type: 'gauge', aggregator: 'sum', values: [...opts.collect()] }),
    reset: () => {},
  };
  // prom-client's typings accept only its own classes; its registry needs just name and get().
  registry.registerMetric(metric as unknown as Gauge<L>);
}
