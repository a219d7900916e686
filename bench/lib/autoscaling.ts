// The autoscaling scenario: N models targeting queue length (KEDA ScaledObjects on the local
// cluster's Prometheus), a load step up and down for all of them at once, and every replica
// change the bench's watches see, timed from the step. The delays are bounded by the HPA
// controller's sync period (and, to and from zero, KEDA's polling interval), which are reported
// next to them. See bench/README.md.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { API_VERSION, KIND } from '../../src/api/v1/aimodel.ts';
import { parseDuration } from '../../src/config/config.ts';
import { APP_NAME, LABEL_NAME } from '../../src/desired/names.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { Deployments, HorizontalPodAutoscalers } from '../../src/kube/resources.ts';
import type { ResourceType } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { SimulatedLoad } from '../../test/support/simulated-load.ts';
import { OperatorProcess } from './operator.ts';
import { createNamespace } from './phases.ts';
import { pool } from './workload.ts';
import type { Progress } from './progress.ts';
import { spread } from './stats.ts';
import type { Spread } from './stats.ts';
import { plotTimeline, stepDelays } from './timeline.ts';
import type { LoadStep, ReplicaEvent, StepDelays } from './timeline.ts';

export const WAITING_GAUGE = 'vllm:num_requests_waiting';

export interface AutoscalingSettings {
  models: number;
  minReplicas: number;
  maxReplicas: number;
  /** queueLength per replica the ScaledObjects target. */
  queueTarget: number;
  /** Requests waiting on each pod during the step up: above target × max, so every model goes to max. */
  queuePerPod: number;
  kedaPollingInterval: string;
  timeoutMs: number;
}

/** The intervals that bound the delays, as the cluster's processes run them. */
export interface Bounds {
  kedaPollingIntervalS: number;
  hpaSyncPeriodS: number;
  hpaDownscaleStabilizationS: number;
  prometheusScrapeIntervalS: number | undefined;
}

export interface AutoscalingResult {
  settings: AutoscalingSettings;
  bounds: Bounds;
  steps: LoadStep[];
  up: Record<string, StepDelays>;
  down: Record<string, StepDelays>;
  summary: Record<'up' | 'down', Record<keyof StepDelays, Spread & { reached: number }>>;
  events: ReplicaEvent[];
  endMs: number;
  pngPath: string;
}

type Obj = KubeObject & { spec?: any; status?: any };

async function procArgs(comm: string): Promise<string[] | undefined> {
  const { readdir } = await import('node:fs/promises');
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if ((await readFile(`/proc/${entry}/comm`, 'utf8')).trim() !== comm.slice(0, 15)) continue;
      return (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').filter(Boolean);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

function flag(args: string[] | undefined, name: string): string | undefined {
  return args?.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** Reads the HPA controller's periods from kube-controller-manager's command line (Kubernetes' defaults when not set) and Prometheus' scrape interval from its configuration. */
export async function readBounds(kedaPollingInterval: string, prometheusConfigPath: string | undefined): Promise<Bounds> {
  const kcm = await procArgs('kube-controller-manager');
  const seconds = (v: string | undefined, fallback: string) => parseDuration(v ?? fallback) / 1000;
  let scrape: number | undefined;
  if (prometheusConfigPath) {
    const text = await readFile(prometheusConfigPath, 'utf8').catch(() => '');
    const m = /scrape_interval["']?:\s*["']?([0-9a-z]+)/.exec(text);
    if (m) scrape = parseDuration(m[1]!) / 1000;
  }
  return {
    kedaPollingIntervalS: parseDuration(kedaPollingInterval) / 1000,
    hpaSyncPeriodS: seconds(flag(kcm, 'horizontal-pod-autoscaler-sync-period'), '15s'),
    hpaDownscaleStabilizationS: seconds(flag(kcm, 'horizontal-pod-autoscaler-downscale-stabilization'), '5m'),
    prometheusScrapeIntervalS: scrape,
  };
}

/** Lists then watches one resource type in a namespace, calling onObject for every state seen, until stopped. */
function follow(client: KubeClient, type: ResourceType, namespace: string, onObject: (o: Obj) => void): { synced: Promise<void>; stop(): Promise<void> } {
  const abort = new AbortController();
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => (markSynced = resolve));
  const running = (async () => {
    while (!abort.signal.aborted) {
      try {
        const list = await client.list<Obj>(type, { namespace, signal: abort.signal });
        list.items.forEach(onObject);
        markSynced();
        await client.watch<Obj>(type, { namespace, resourceVersion: list.metadata?.resourceVersion ?? '', timeoutSeconds: 300, signal: abort.signal }, (e) => {
          if (e.type === 'ADDED' || e.type === 'MODIFIED') onObject(e.object);
        });
      } catch {
        if (!abort.signal.aborted) await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();
  return {
    synced,
    async stop() {
      abort.abort();
      await running;
    },
  };
}

async function waitUntil(what: string, timeoutMs: number, check: () => boolean | Promise<boolean>, progress: Progress, detail: () => string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`autoscaling: ${what} not within ${timeoutMs / 1000} s (${detail()})`);
    progress.set(`autoscaling: ${what}`, detail());
    await new Promise((r) => setTimeout(r, 250));
  }
}

function summarizeDelays(perModel: Record<string, StepDelays>): Record<keyof StepDelays, Spread & { reached: number }> {
  const keys: (keyof StepDelays)[] = ['decisionMs', 'firstPodsMs', 'settledMs'];
  return Object.fromEntries(
    keys.map((k) => {
      const values = Object.values(perModel).map((d) => d[k]).filter((v): v is number => v !== undefined);
      return [k, { ...spread(values), reached: values.length }];
    }),
  ) as Record<keyof StepDelays, Spread & { reached: number }>;
}

export async function runAutoscaling(ctx: {
  client: KubeClient;
  kubeconfig: string;
  namespace: string;
  settings: AutoscalingSettings;
  prometheusUrl: string;
  prometheusConfigPath: string | undefined;
  logDir: string;
  outDir: string;
  id: string;
  operatorEntry?: string;
  nodeOptions: string[];
  operatorArgs: string[];
  progress: Progress;
}): Promise<AutoscalingResult> {
  const { client, namespace, settings: s, progress } = ctx;
  const names = Array.from({ length: s.models }, (_, i) => `scale-${String(i).padStart(3, '0')}`);
  const bounds = await readBounds(s.kedaPollingInterval, ctx.prometheusConfigPath);
  progress.set('autoscaling: starting the operator');
  await createNamespace(client, namespace);
  const operator = await OperatorProcess.start({
    kubeconfig: ctx.kubeconfig,
    namespace,
    workers: 4,
    extraArgs: [`--prometheus-address=${ctx.prometheusUrl}`, '--scaled-objects=true', `--keda-polling-interval=${s.kedaPollingInterval}`, ...ctx.operatorArgs],
    logFile: join(ctx.logDir, 'operator-autoscaling.log'),
    nodeOptions: ctx.nodeOptions,
    entry: ctx.operatorEntry,
  });
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const events: ReplicaEvent[] = [];
  const deployments = new Map<string, { spec: number; replicas: number; ready: number }>();
  const hpaActive = new Set<string>();
  const modelSet = new Set(names);
  const watchDeployments = follow(client, Deployments, namespace, (d) => {
    if (!modelSet.has(d.metadata.name)) return;
    const state = { spec: d.spec?.replicas ?? 1, replicas: d.status?.replicas ?? 0, ready: d.status?.readyReplicas ?? 0 };
    const last = deployments.get(d.metadata.name);
    if (last && last.spec === state.spec && last.replicas === state.replicas && last.ready === state.ready) return;
    deployments.set(d.metadata.name, state);
    events.push({ atMs: now(), model: d.metadata.name, source: 'deployment', ...state });
  });
  const lastDesired = new Map<string, number>();
  const watchHpas = follow(client, HorizontalPodAutoscalers, namespace, (h) => {
    const model = h.spec?.scaleTargetRef?.name as string | undefined;
    if (!model || !modelSet.has(model)) return;
    if ((h.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'ScalingActive' && c.status === 'True')) hpaActive.add(model);
    const desired = h.status?.desiredReplicas;
    if (typeof desired !== 'number' || lastDesired.get(model) === desired) return;
    lastDesired.set(model, desired);
    events.push({ atMs: now(), model, source: 'hpa', desired });
  });
  let load: SimulatedLoad | undefined;
  try {
    await operator.waitReady();
    await Promise.all([watchDeployments.synced, watchHpas.synced]);
    progress.set('autoscaling: applying the models');
    await pool(names, 4, async (name) => {
      await client.apply(
        {
          apiVersion: API_VERSION,
          kind: KIND,
          metadata: { name, namespace },
          spec: { model: 'bench/tiny-model', engine: 'vllm', replicas: s.minReplicas, autoscaling: { minReplicas: s.minReplicas, maxReplicas: s.maxReplicas, target: { queueLength: s.queueTarget } } },
        } as KubeObject,
        { fieldManager: 'kubectl', force: true },
      );
    });
    const at = (n: number, ready: boolean) => names.filter((m) => {
      const d = deployments.get(m);
      return d && d.spec === n && d.replicas === n && (!ready || d.ready === n);
    }).length;
    await waitUntil('models Ready, KEDA\'s HPAs active', s.timeoutMs, () => at(s.minReplicas, true) === names.length && hpaActive.size === names.length, progress, () => `${at(s.minReplicas, true)}/${names.length} ready, ${hpaActive.size} HPAs active`);
    // The record starts from a quiet cluster: the first sync of every HPA has passed.
    await new Promise((r) => setTimeout(r, bounds.hpaSyncPeriodS * 1000));

    const steps: LoadStep[] = [];
    const upAt = now();
    steps.push({ atMs: upAt, value: s.queuePerPod });
    load = SimulatedLoad.start(client, namespace, `${LABEL_NAME}=${APP_NAME}`, { gauges: { [WAITING_GAUGE]: s.queuePerPod } });
    await waitUntil('step up', s.timeoutMs, () => at(s.maxReplicas, true) === names.length, progress, () => `${at(s.maxReplicas, true)}/${names.length} at ${s.maxReplicas} Ready replicas`);
    // Hold the load over a few HPA syncs, so the plot shows the plateau and nothing overshoots.
    await new Promise((r) => setTimeout(r, 3 * bounds.hpaSyncPeriodS * 1000));

    const downAt = now();
    steps.push({ atMs: downAt, value: 0 });
    load.set({ gauges: { [WAITING_GAUGE]: 0 } });
    await waitUntil('step down', s.timeoutMs + bounds.hpaDownscaleStabilizationS * 1000, () => at(s.minReplicas, false) === names.length, progress, () => `${at(s.minReplicas, false)}/${names.length} back at ${s.minReplicas}`);
    await new Promise((r) => setTimeout(r, 2 * bounds.hpaSyncPeriodS * 1000));
    const endMs = now();

    const up = Object.fromEntries(names.map((m) => [m, stepDelays(events, m, upAt, s.minReplicas, s.maxReplicas)]));
    const down = Object.fromEntries(names.map((m) => [m, stepDelays(events, m, downAt, s.maxReplicas, s.minReplicas)]));
    const pngPath = join(ctx.outDir, `${ctx.id}-autoscaling.png`);
    const { writeFile } = await import('node:fs/promises');
    const canvas = plotTimeline(events, steps, {
      title: `autoscaling: ${s.models} models, queue length target ${s.queueTarget} per replica, ${s.minReplicas}-${s.maxReplicas} replicas; hpa sync ${bounds.hpaSyncPeriodS} s`,
      loadLabel: `load: ${WAITING_GAUGE} per pod`,
      endMs,
    });
    await writeFile(pngPath, canvas.png());
    return { settings: s, bounds, steps, up, down, summary: { up: summarizeDelays(up), down: summarizeDelays(down) }, events, endMs, pngPath };
  } finally {
    await load?.stop().catch(() => {});
    await Promise.all([watchDeployments.stop(), watchHpas.stop()]);
    await operator.stop();
  }
}

/** The markdown section: delays per direction (median [min–max] over models) next to the bounds. */
export function autoscalingMarkdown(r: AutoscalingResult, pngName: string): string {
  const s = r.settings;
  const b = r.bounds;
  const cell = (x: Spread & { reached: number }) => (x.reached === 0 ? '-' : `${(x.median / 1000).toFixed(1)} [${(x.min / 1000).toFixed(1)}–${(x.max / 1000).toFixed(1)}]${x.reached < s.models ? ` (${x.reached} of ${s.models})` : ''}`);
  return [
    '## Autoscaling',
    '',
    `${s.models} models (\`engine: vllm\`, \`autoscaling: {minReplicas: ${s.minReplicas}, maxReplicas: ${s.maxReplicas}, target: {queueLength: ${s.queueTarget}}}\`, one KEDA ScaledObject each); ` +
      `the load steps up to ${s.queuePerPod} requests waiting on every pod (\`${WAITING_GAUGE}\`, simulated by kwok, scraped by Prometheus) and back to 0.`,
    '',
    `Bounds: HPA controller sync period ${b.hpaSyncPeriodS} s, downscale stabilisation ${b.hpaDownscaleStabilizationS} s (kube-controller-manager); KEDA polling interval ${b.kedaPollingIntervalS} s (--keda-polling-interval; it paces only scaling to and from zero); Prometheus scrape interval ${b.prometheusScrapeIntervalS ?? '?'} s.`,
    '',
    'Seconds from the load step, median [min–max] over the models:',
    '',
    '| step | first scale decision | first new pod Ready (up) / first pod gone (down) | all at the new count |',
    '| --- | ---: | ---: | ---: |',
    `| up, ${s.minReplicas} → ${s.maxReplicas} | ${cell(r.summary.up.decisionMs)} | ${cell(r.summary.up.firstPodsMs)} | ${cell(r.summary.up.settledMs)} |`,
    `| down, ${s.maxReplicas} → ${s.minReplicas} | ${cell(r.summary.down.decisionMs)} | ${cell(r.summary.down.firstPodsMs)} | ${cell(r.summary.down.settledMs)} |`,
    '',
    `![load and replicas over time](${pngName})`,
    '',
  ].join('\n');
}
