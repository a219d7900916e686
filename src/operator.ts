// Wiring: parse the configuration, connect to the cluster, compose the runtime and the AIModel
// controller, and run until SIGTERM. Everything else lives in the modules this composes.
// src/main.ts is the entry point that runs it.
import { existsSync, readFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError, helpText, parseConfig } from './config/config.ts';
import type { OperatorConfig } from './config/config.ts';
import { watchForMissingAIModelCRD } from './controllers/aimodel/crd.ts';
import { setupAIModelController } from './controllers/aimodel/setup.ts';
import { accessReviewer, leaseStore } from './kube/adapters.ts';
import { KubeClient } from './kube/client.ts';
import { serves } from './kube/discovery.ts';
import { KubeEventRecorder } from './kube/events.ts';
import { PodMonitors, ScaledObjects } from './kube/resources.ts';
import type { ResourceType } from './kube/resources.ts';
import { fencedClient } from './kube/fenced.ts';
import { DEFAULT_OPERATOR_DEFAULTS } from './desired/defaults.ts';
import type { PodMetrics } from './desired/defaults.ts';
import { createLogger } from './logging.ts';
import type { Logger } from './logging.ts';
import { realClock } from './runtime/clock.ts';
import { FencedWriteError, WriteFence } from './runtime/fence.ts';
import { EventLoopMonitor, HealthProbes, informersSynced, startHealthServer } from './runtime/health.ts';
import { defaultIdentity, LeaderElector } from './runtime/leaderelection.ts';
import { LeaderElectionLostError, Manager, serverRunnable } from './runtime/manager.ts';
import { createMetrics, startMetricsServer } from './runtime/metrics.ts';

// src/operator.ts runs from the checkout, dist/src/operator.js from the image: find the package either way.
function packageVersion(): string {
  for (const candidate of ['../package.json', '../../package.json']) {
    const url = new URL(candidate, import.meta.url);
    if (existsSync(url)) return (JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version: string }).version;
  }
  return 'unknown';
}
const version = packageVersion();
const inClusterNamespaceFile = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export function hasAnyKubeconfig(config: Pick<OperatorConfig, 'kubeconfig'>): boolean {
  if (config.kubeconfig || process.env.KUBECONFIG) return true;
  if (process.env.KUBERNETES_SERVICE_HOST) return true;
  return existsSync(join(homedir(), '.kube', 'config'));
}

function loadKubeConfig(config: OperatorConfig): KubeConfig {
  const kc = new KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromDefault();
  if (config.context) {
    if (!kc.getContextObject(config.context)) throw new ConfigError([`--context: "${config.context}": no such context in the kubeconfig (have: ${kc.getContexts().map((c) => c.name).join(', ')})`]);
    kc.setCurrentContext(config.context);
  }
  return kc;
}

function leaseNamespace(config: OperatorConfig, kc: KubeConfig): string {
  if (config.leaderElectNamespace) return config.leaderElectNamespace;
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  if (existsSync(inClusterNamespaceFile)) return readFileSync(inClusterNamespaceFile, 'utf8').trim();
  return kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let config: OperatorConfig & { kubeconfig: string | undefined };
  try {
    config = { ...parseConfig(argv, env) };
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`aimodel-operator: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (config.help) {
    process.stdout.write(`${helpText()}\n`);
    return 0;
  }
  if (config.version) {
    process.stdout.write(`aimodel-operator ${version}\n`);
    return 0;
  }

  const log = createLogger(config.logLevel, config.logFormat);
  log.info({ version, workers: config.workers, namespaces: config.namespaces.length ? config.namespaces : 'all' }, 'starting aimodel-operator');

  if (!hasAnyKubeconfig(config)) {
    log.error({}, 'no kubeconfig found (--kubeconfig, $KUBECONFIG, ~/.kube/config or in-cluster); for a local development cluster run `npm start` from a checkout');
    return 1;
  }

  let kc: KubeConfig;
  try {
    kc = loadKubeConfig(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`aimodel-operator: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  let operator: RunningOperator;
  try {
    operator = await startOperator(config, kc, log);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`aimodel-operator: ${err.message}\n`);
    return 2;
  }
  const onSignal = (signal: NodeJS.Signals) => {
    if (operator.stopping) {
      log.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    log.info({ signal }, 'shutting down: finishing in-flight reconciles');
    void operator.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    await operator.done;
    log.info({}, 'stopped');
    return 0;
  } catch (err) {
    if (err instanceof LeaderElectionLostError) log.error({ identity: operator.identity }, 'leader election lost: exiting so a fresh process can rejoin');
    else log.error({ err }, 'operator failed');
    return 1;
  } finally {
    log.flush?.();
  }
}

/**
 * Whether to manage an add-on's kind: `--<flag>=auto` when the cluster serves it at start-up,
 * `true` requires it (a configuration error without it), `false` never. Found once: a kind
 * installed later needs a restart, which the log says.
 */
async function optionalKind(
  client: KubeClient,
  type: ResourceType,
  setting: { flag: string; mode: 'auto' | 'true' | 'false'; install: string; without: string },
  log: Logger,
): Promise<boolean> {
  if (setting.mode === 'false') return false;
  if (await serves(client, type)) return true;
  if (setting.mode === 'true') {
    throw new ConfigError([`--${setting.flag}=true: ${type.apiVersion} ${type.kind} is not served by this cluster; ${setting.install}, or use --${setting.flag}=auto`]);
  }
  log.info({}, `${type.kind} is not served: ${setting.without} (restart the operator after installing it)`);
  return false;
}

/** How the model pods' metrics reach Prometheus, from the flags and what the cluster serves. */
async function podMetricsRoute(client: KubeClient, config: OperatorConfig, log: Logger): Promise<PodMetrics> {
  const fallback: PodMetrics = config.podMetricsAnnotations ? 'annotations' : 'none';
  const without = `model pods ${fallback === 'annotations' ? 'carry prometheus.io/* annotations' : 'are not announced to Prometheus'}`;
  const served = await optionalKind(client, PodMonitors, { flag: 'pod-monitors', mode: config.podMonitors, install: "install the Prometheus Operator's CRDs", without }, log);
  return served ? 'PodMonitor' : fallback;
}

/** Whether engine-signal targets get KEDA ScaledObjects, from the flag and what the cluster serves. */
async function scaledObjectsServed(client: KubeClient, config: OperatorConfig, log: Logger): Promise<boolean> {
  const without = 'models with an engine-signal autoscaling target run at spec.replicas';
  const served = await optionalKind(client, ScaledObjects, { flag: 'scaled-objects', mode: config.scaledObjects, install: 'install KEDA', without }, log);
  if (served && config.prometheusAddress === undefined) log.warn({}, `${ScaledObjects.kind} is served but --prometheus-address is not set: ${without}`);
  return served;
}

export interface RunningOperator {
  identity: string;
  client: KubeClient;
  aimodel: ReturnType<typeof setupAIModelController>;
  metrics: ReturnType<typeof createMetrics>;
  manager: Manager;
  /** Settles when the operator has stopped: resolves after a graceful stop, rejects on failure. */
  done: Promise<void>;
  readonly stopping: boolean;
  /** Graceful stop: finish in-flight reconciles, release the lease, close servers. */
  stop(): Promise<void>;
}

/** Composes and starts the operator; used by main and by the tests that run it in-process. */
export async function startOperator(config: OperatorConfig, kc: KubeConfig, log: Logger): Promise<RunningOperator> {
  const metrics = createMetrics();
  const client = await KubeClient.fromKubeConfig(kc, {
    userAgent: `aimodel-operator/${version}`,
    qps: config.kubeApiQps,
    burst: config.kubeApiBurst,
    observers: [(r) => metrics.observeRequest({ method: r.method, host: r.host, code: r.code, durationSeconds: r.durationSeconds })],
  });
  const identity = defaultIdentity();
  const elector = config.leaderElect
    ? new LeaderElector({
        leaseName: config.leaderElectId,
        leaseNamespace: leaseNamespace(config, kc),
        store: leaseStore(client, leaseNamespace(config, kc), config.leaderElectId),
        identity,
        leaseDurationMs: config.leaseDuration,
        renewDeadlineMs: config.renewDeadline,
        retryPeriodMs: config.retryPeriod,
        clock: realClock,
        logger: log,
        metrics: metrics.leaderElection,
      })
    : undefined;
  // The controller and its Events write through the fence, open only while this replica leads;
  // the Lease (through `client`) is renewed and released outside it.
  const writeFence = new WriteFence();
  const leaderClient = fencedClient(client, writeFence);
  const manager = new Manager({ logger: log, clock: realClock, ...(elector ? { leaderElector: elector } : {}), gracefulShutdownTimeoutMs: config.gracefulShutdownTimeout, writeFence });
  const events = new KubeEventRecorder(leaderClient, {
    component: 'aimodel-operator',
    host: hostname(),
    onError: (err) => (err instanceof FencedWriteError ? log.debug({ err }, 'Event not recorded: no longer leading') : log.warn({ err }, 'could not record an Event')),
  });
  const podMetrics = await podMetricsRoute(client, config, log);
  const scaledObjects = await scaledObjectsServed(client, config, log);
  const aimodel = setupAIModelController({
    client: leaderClient,
    manager,
    namespaces: config.namespaces,
    defaults: {
      ...DEFAULT_OPERATOR_DEFAULTS,
      defaultImage: config.defaultImage,
      engineImages: config.engineImages,
      clusterDomain: config.clusterDomain,
      podMetrics,
      scaledObjects,
      ...(config.prometheusAddress !== undefined ? { prometheusAddress: config.prometheusAddress.replace(/\/+$/, '') } : {}),
      kedaPollingIntervalSeconds: config.kedaPollingInterval / 1000,
      kedaCooldownPeriodSeconds: config.kedaCooldownPeriod / 1000,
      defaultCpuRequest: config.defaultCpuRequest,
    },
    workers: config.workers,
    resyncPeriodMs: config.syncPeriod,
    events,
    metrics: { controller: metrics.controller, workqueue: metrics.workqueue, registry: metrics.registry },
    clock: realClock,
    logger: log,
  });

  const probes = new HealthProbes();
  const eventLoop = new EventLoopMonitor({ clock: realClock });
  probes.addHealthzCheck('event-loop', eventLoop.check);
  probes.addReadyzCheck('aimodel-crd', watchForMissingAIModelCRD(aimodel.modelInformers, log));
  probes.addReadyzCheck('informers-synced', informersSynced(aimodel.informers));
  if (elector) {
    // A standby is ready to take over when its caches are warm; the leader also needs its workers.
    probes.addReadyzCheck('leader-workers', () => {
      if (manager.isLeader() && !aimodel.controller.workersRunning) throw new Error('leader, but workers have not started');
    });
  }
  // Reviews use the plain client, not leader-only machinery: standby replicas serve metrics too.
  const secureMetrics = config.metricsSecure
    ? { reviewer: accessReviewer(client), ...(config.metricsCertPath ? { certFiles: { dir: config.metricsCertPath, certName: config.metricsCertName, keyName: config.metricsCertKey } } : {}) }
    : undefined;
  manager.add(serverRunnable(() => startMetricsServer({ address: config.metricsBindAddress, registry: metrics.registry, logger: log, ...(secureMetrics ? { secure: secureMetrics } : {}) })), { name: 'metrics server' });
  manager.add(serverRunnable(() => startHealthServer({ address: config.healthProbeBindAddress, probes, logger: log })), { name: 'health server' });
  manager.add(
    {
      async start(signal) {
        eventLoop.start();
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        eventLoop.stop();
      },
    },
    { name: 'event loop monitor' },
  );


  const shutdown = new AbortController();
  const done = manager.start(shutdown.signal).finally(async () => {
    await events.flush();
    await client.close().catch(() => {});
  });
  done.catch(() => {});
  return {
    identity,
    client,
    aimodel,
    metrics,
    manager,
    done,
    get stopping() {
      return shutdown.signal.aborted;
    },
    async stop() {
      shutdown.abort();
      await done;
    },
  };
}
