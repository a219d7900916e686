// The measurements. Each works in namespaces of its own on a shared cluster; the operator only
// ever watches its namespace (--namespaces), so the floor's objects are invisible to it.
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseDuration } from '../../src/config/config.ts';
import { AIModels } from '../../src/controllers/aimodel/setup.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { Namespaces, ServiceAccounts } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import type { KubeConfig } from '@kubernetes/client-node';
import { delta } from './metrics.ts';
import type { OperatorCounters } from './metrics.ts';
import { OperatorProcess } from './operator.ts';
import { cpuSeconds, loadAverage } from './proc.ts';
import type { BenchOptions } from './options.ts';
import type { Progress } from './progress.ts';
import { NamespaceTracker, revAnnotation } from './tracker.ts';
import { applyModel, Channel, floorDeployment, floorWrites, modelManifest, modelName, pool } from './workload.ts';

export interface ConvergenceResult {
  seconds: number;
  /** When the bench had sent (and got answers for) all its model applies. */
  appliedSeconds: number;
  /** Floor only: when the bare client had its last write answered. */
  writesDoneSeconds?: number;
  /** Writes of the converging party (operator or floor client), per model; the bench's model applies excluded. */
  writesPerModel: number;
  writesByMethod: Record<string, number>;
  errors: number;
  /** Operator only: CPU seconds it used from the first apply to convergence. */
  cpuSeconds?: number;
  /** CPU seconds kube-apiserver and etcd used over the same span (NaN on an existing cluster). */
  controlPlaneCpuSeconds: number;
  /** 1-minute load average of the machine when the phase started. */
  loadAverage: number;
  /** Time until every Deployment rolled out and (operator) every status reported it. */
  settledSeconds: number;
}

export interface MemoryResult {
  baselineRssBytes: number;
  baselineHeapBytes: number;
  convergedRssBytes: number;
  convergedHeapBytes: number;
  settledRssBytes: number;
  settledHeapBytes: number;
  /** V8 heap committed (used + free) and memory outside it (ArrayBuffers, native), once settled. */
  settledHeapTotalBytes: number;
  settledExternalBytes: number;
  peakRssBytes: number;
  rssKbPerModel: number;
  heapKbPerModel: number;
}

export interface StartupResult {
  /** Process spawn to /readyz 200 (caches synced). */
  readyMs: number;
  /** Process spawn to every model reconciled once and the queue empty. */
  drainedMs: number;
  /** Writes from spawn to drained: a restart over unchanged models should write nothing. */
  writes: number;
  reads: number;
  /** RSS and V8 heap once drained: the steady state over N models, without convergence's garbage. */
  rssBytes: number;
  heapUsedBytes: number;
}

export interface IdleResult {
  resyncs: number;
  seconds: number;
  reconciles: number;
  writes: number;
  reads: number;
  writesByMethod: Record<string, number>;
  cpuSeconds: number;
}

export interface LatencyResult {
  idleMs: number[];
  /** Interleaved with idleMs: a bare client patching a model and applying its Deployment itself. */
  idleFloorMs: number[];
  churnMs: number[];
  churnPlanned: number;
  churnTimedOut: number;
}

export interface RepeatResult {
  n: number;
  repeat: number;
  order: 'floor-first' | 'operator-first';
  replicas: number;
  floor?: ConvergenceResult;
  operator?: ConvergenceResult;
  ratio?: number;
  memory?: MemoryResult;
  startup: StartupResult[];
  /** Start-up to /readyz with no models (the fixed cost of starting the process). */
  emptyReadyMs?: number;
  idle?: IdleResult;
  latency?: LatencyResult;
  /** Operator process ids by phase, to match --cpu-prof files. */
  pids: Record<string, number>;
}

export interface BenchContext {
  options: BenchOptions;
  kubeconfig: string;
  kubeConfig: KubeConfig;
  progress: Progress;
  runId: string;
  logDir: string;
  profileDir: string | undefined;
  /** kube-apiserver and etcd pids (empty on an existing cluster). */
  controlPlanePids: number[];
}

const seconds = (ms: number) => ms / 1000;

/** Models of the latency floor: a namespace the operator does not watch, where the bench plays operator. */
export const LATENCY_FLOOR_MODELS = 10;

async function newClient(ctx: BenchContext, agent: string, onWrite?: (r: { method: string; code: number }) => void): Promise<KubeClient> {
  return KubeClient.fromKubeConfig(ctx.kubeConfig, {
    userAgent: `aimodel-bench/${agent}`,
    observers: onWrite ? [(r) => r.write && onWrite(r)] : [],
  });
}

export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'bench.ai.openai.com/bench': 'true' } } });
  // Pods cannot be created before the ServiceAccount controller made the default account.
  for (let i = 0; i < 300 && !(await client.find(ServiceAccounts, name, 'default')); i++) await sleep(100);
}

/**
 * How often to scrape /metrics while waiting: a scrape costs the operator CPU in proportion to
 * its series (about 25 ms at 1,000 models, 250 ms at 10,000), which must not slow what is timed.
 */
function scrapeIntervalMs(n: number): number {
  return Math.min(3000, Math.max(500, n / 5));
}

/** Waits until the operator has nothing queued or running and its reconcile count is stable. */
async function drained(op: OperatorProcess, minReconciles: number, timeoutMs: number): Promise<OperatorCounters> {
  const deadline = performance.now() + timeoutMs;
  let prev = await op.scrape();
  while (performance.now() < deadline) {
    await sleep(scrapeIntervalMs(minReconciles));
    const cur = await op.scrape();
    if (cur.reconciles >= minReconciles && cur.queueDepth === 0 && cur.activeWorkers === 0 && cur.reconciles === prev.reconciles) return cur;
    prev = cur;
  }
  throw new Error(`the operator did not drain its queue within ${Math.round(timeoutMs / 1000)} s (reconciles ${prev.reconciles}, depth ${prev.queueDepth})`);
}

/** One repeat at one N: floor and operator side by side, then start-up, idle and latency. */
export class Round {
  readonly ctx: BenchContext;
  readonly n: number;
  readonly repeat: number;
  readonly replicas: number;
  readonly names: string[];
  readonly nsFloor: string;
  readonly nsOperator: string;
  readonly nsLatencyFloor: string;
  readonly result: RepeatResult;
  private writer!: KubeClient;
  private watcher!: KubeClient;
  private opTracker: NamespaceTracker | undefined;
  private floorTracker: NamespaceTracker | undefined;
  private latencyTracker: NamespaceTracker | undefined;
  private revSeq = 0;

  constructor(ctx: BenchContext, n: number, repeat: number, replicas: number) {
    this.ctx = ctx;
    this.n = n;
    this.repeat = repeat;
    this.replicas = replicas;
    this.names = Array.from({ length: n }, (_, i) => modelName(i));
    const base = `bench-${ctx.runId}-n${n}-r${repeat}`;
    this.nsFloor = `${base}-floor`;
    this.nsOperator = `${base}-op`;
    this.nsLatencyFloor = `${base}-lat`;
    // Alternate which side goes first, so neither always meets the other's leftovers.
    this.result = { n, repeat, order: repeat % 2 === 1 ? 'floor-first' : 'operator-first', replicas, startup: [], pids: {} };
  }

  private get label(): string {
    return `N=${this.n} repeat ${this.repeat}/${this.ctx.options.repeat}`;
  }

  private timeoutMs(): number {
    return Math.max(600_000, this.n * 600);
  }

  /** The namespaces this round created, for the runner to delete. */
  get namespaces(): string[] {
    return [this.nsOperator, ...(this.ctx.options.only.has('convergence') ? [this.nsFloor] : []), ...(this.ctx.options.only.has('latency') ? [this.nsLatencyFloor] : [])];
  }

  /** Pods this round leaves running. */
  get pods(): number {
    return this.replicas * this.n * (this.ctx.options.only.has('convergence') ? 2 : 1) + LATENCY_FLOOR_MODELS;
  }

  async run(): Promise<RepeatResult> {
    const { only } = this.ctx.options;
    this.writer = await newClient(this.ctx, 'writer');
    this.watcher = await newClient(this.ctx, 'watcher');
    try {
      await createNamespace(this.writer, this.nsOperator);
      if (only.has('convergence')) await createNamespace(this.writer, this.nsFloor);
      // The floor runs right before or right after the operator's convergence, so the two see
      // as similar a machine as a shared machine allows.
      if (only.has('convergence') && this.result.order === 'floor-first') await this.floor();
      await this.operatorConvergence();
      if (only.has('convergence') && this.result.order === 'operator-first') await this.floor();
      if (only.has('startup') || only.has('idle')) await this.idle();
      if (only.has('startup') || only.has('latency')) await this.latency();
      if (this.result.floor && this.result.operator) this.result.ratio = this.result.operator.seconds / this.result.floor.seconds;
      return this.result;
    } finally {
      await this.opTracker?.stop();
      await this.floorTracker?.stop();
      await this.latencyTracker?.stop();
      await this.writer.close();
      await this.watcher.close();
    }
  }

  private async controlPlaneCpu(): Promise<number> {
    return this.ctx.controlPlanePids.length ? cpuSeconds(this.ctx.controlPlanePids) : Number.NaN;
  }

  private manifests(namespace: string): KubeObject[] {
    return this.names.map((name) => modelManifest(name, namespace, this.replicas));
  }

  private async startOperator(phase: string, syncPeriod?: string): Promise<OperatorProcess> {
    const { options } = this.ctx;
    const op = await OperatorProcess.start({
      kubeconfig: this.ctx.kubeconfig,
      namespace: this.nsOperator,
      workers: options.concurrency,
      ...(syncPeriod ? { syncPeriod } : {}),
      extraArgs: options.operatorArgs,
      nodeOptions: options.nodeOptions,
      ...(options.operatorEntry ? { entry: resolve(options.operatorEntry) } : {}),
      logFile: `${this.ctx.logDir}/operator-n${this.n}-r${this.repeat}-${phase}.log`,
      ...(this.ctx.profileDir && options.cpuProf ? { cpuProfDir: this.ctx.profileDir } : {}),
      ...(this.ctx.profileDir && options.heapSnapshot ? { heapSnapshotDir: this.ctx.profileDir } : {}),
    });
    this.result.pids[phase] = op.pid;
    return op;
  }

  /** The floor: the same model applies, then a bare client making the operator's writes. */
  private async floor(): Promise<void> {
    const { progress, options } = this.ctx;
    const phase = `${this.label} floor`;
    progress.set(phase, 'watching');
    const tracker = (this.floorTracker = new NamespaceTracker(this.watcher, this.nsFloor, this.names, { withPdb: true }));
    await tracker.synced();
    const writes: Record<string, number> = {};
    let errors = 0;
    const floorClient = await newClient(this.ctx, 'floor', (r) => {
      writes[r.method] = (writes[r.method] ?? 0) + 1;
      if (r.code < 200 || r.code >= 300) errors++;
    });
    const channel = new Channel<KubeObject>();
    const load = await loadAverage();
    const cpu0 = await this.controlPlaneCpu();
    const t0 = performance.now();
    let appliedAt = 0;
    const ticker = setInterval(() => progress.set(phase, `${tracker.converged.size}/${this.n} converged, ${seconds(performance.now() - t0).toFixed(1)} s`), 1000);
    try {
      const producers = pool(this.manifests(this.nsFloor), options.concurrency, async (m) => channel.push(await applyModel(this.writer, m))).finally(() => {
        appliedAt = performance.now();
        channel.close();
      });
      const consumers = Promise.all(
        Array.from({ length: options.concurrency }, async () => {
          for (let m = await channel.take(); m; m = await channel.take()) await floorWrites(floorClient, m);
        }),
      );
      await Promise.all([producers, consumers]);
      const writesDoneAt = performance.now();
      const at = await tracker.waitUntil('the floor to converge', () => tracker.converged.size === this.n, this.timeoutMs());
      const cpu1 = await this.controlPlaneCpu();
      const total = Object.values(writes).reduce((a, b) => a + b, 0);
      const settledAt = await tracker.waitUntil('the floor Deployments to roll out', () => tracker.settledDeployments() === this.n, this.timeoutMs());
      this.result.floor = {
        seconds: seconds(at - t0),
        appliedSeconds: seconds(appliedAt - t0),
        writesDoneSeconds: seconds(writesDoneAt - t0),
        writesPerModel: total / this.n,
        writesByMethod: writes,
        errors,
        controlPlaneCpuSeconds: cpu1 - cpu0,
        loadAverage: load,
        settledSeconds: seconds(settledAt - t0),
      };
      progress.note(`${phase}: converged in ${this.result.floor.seconds.toFixed(2)} s (last write answered at ${this.result.floor.writesDoneSeconds!.toFixed(2)} s, API server + etcd ${this.result.floor.controlPlaneCpuSeconds.toFixed(1)} CPU s, load ${load.toFixed(1)}, ${this.result.floor.writesPerModel.toFixed(1)} writes/model), rolled out in ${this.result.floor.settledSeconds.toFixed(1)} s`);
    } finally {
      clearInterval(ticker);
      await floorClient.close();
    }
  }

  /** The operator converging N new models; memory before and after. */
  private async operatorConvergence(): Promise<void> {
    const { progress, options } = this.ctx;
    const phase = `${this.label} operator convergence`;
    progress.set(phase, 'starting the operator');
    const op = await this.startOperator('convergence');
    try {
      this.result.emptyReadyMs = await op.waitReady();
      await sleep(2000);
      const base = await op.scrape();
      const tracker = (this.opTracker = new NamespaceTracker(this.watcher, this.nsOperator, this.names, { withPdb: true }));
      await tracker.synced();
      const load = await loadAverage();
      const cpu0 = await this.controlPlaneCpu();
      const before = await op.scrape();
      const t0 = performance.now();
      let appliedAt = 0;
      const ticker = setInterval(() => progress.set(phase, `${tracker.converged.size}/${this.n} converged, ${seconds(performance.now() - t0).toFixed(1)} s`), 1000);
      let converged: OperatorCounters;
      let at: number;
      let cpu1 = 0;
      try {
        const applies = pool(this.manifests(this.nsOperator), options.concurrency, async (m) => void (await applyModel(this.writer, m))).then(() => {
          appliedAt = performance.now();
        });
        at = await tracker.waitUntil('the operator to converge', () => tracker.converged.size === this.n, this.timeoutMs());
        converged = await op.scrape();
        cpu1 = await this.controlPlaneCpu();
        await applies;
      } finally {
        clearInterval(ticker);
      }
      progress.set(phase, 'waiting for the rollouts and statuses to settle');
      const settledAt = await tracker.waitUntil(
        'the models to report Ready',
        () => tracker.settledDeployments() === this.n && tracker.settledModels() === this.n,
        this.timeoutMs(),
      );
      const settled = await drained(op, 0, this.timeoutMs());
      const d = delta(before, converged);
      this.result.operator = {
        seconds: seconds(at - t0),
        appliedSeconds: seconds(appliedAt - t0),
        writesPerModel: d.writes / this.n,
        writesByMethod: d.byMethod,
        errors: d.errors,
        cpuSeconds: d.cpuSeconds,
        controlPlaneCpuSeconds: cpu1 - cpu0,
        loadAverage: load,
        settledSeconds: seconds(settledAt - t0),
      };
      const peak = await op.procMemory();
      this.result.memory = {
        baselineRssBytes: base.rssBytes,
        baselineHeapBytes: base.heapUsedBytes,
        convergedRssBytes: converged.rssBytes,
        convergedHeapBytes: converged.heapUsedBytes,
        settledRssBytes: settled.rssBytes,
        settledHeapBytes: settled.heapUsedBytes,
        settledHeapTotalBytes: settled.heapTotalBytes,
        settledExternalBytes: settled.externalBytes,
        peakRssBytes: peak?.peakRssBytes ?? Number.NaN,
        rssKbPerModel: (settled.rssBytes - base.rssBytes) / 1024 / this.n,
        heapKbPerModel: (settled.heapUsedBytes - base.heapUsedBytes) / 1024 / this.n,
      };
      const mb = (b: number) => (b / 2 ** 20).toFixed(0);
      progress.note(
        `${phase}: converged in ${this.result.operator.seconds.toFixed(2)} s (${d.cpuSeconds.toFixed(1)} CPU s, API server + etcd ${(cpu1 - cpu0).toFixed(1)} CPU s, load ${load.toFixed(1)}, ${this.result.operator.writesPerModel.toFixed(1)} writes/model: ${JSON.stringify(d.byMethod)}), ` +
          `settled in ${this.result.operator.settledSeconds.toFixed(1)} s; RSS ${mb(base.rssBytes)} -> ${mb(settled.rssBytes)} MB, heap ${mb(base.heapUsedBytes)} -> ${mb(settled.heapUsedBytes)} MB (committed ${mb(settled.heapTotalBytes)} MB, external ${mb(settled.externalBytes)} MB, peak RSS ${mb(peak?.peakRssBytes ?? 0)} MB)`,
      );
      if (options.heapSnapshot) {
        progress.set(phase, 'writing a heap snapshot');
        const file = await op.heapSnapshot();
        progress.note(`${phase}: heap snapshot ${file ?? 'not written'}`);
      }
    } finally {
      await op.stop();
    }
  }

  /** Restart over N unchanged models: start-up; then writes, reads and CPU over forced resyncs. */
  private async startup(phase: string, syncPeriod?: string): Promise<{ op: OperatorProcess; drainedAt: OperatorCounters }> {
    const { progress } = this.ctx;
    progress.set(`${this.label} ${phase}`, 'starting the operator');
    const op = await this.startOperator(phase, syncPeriod);
    try {
      const readyMs = await op.waitReady();
      const drainedAt = await drained(op, this.n, this.timeoutMs());
      const sample: StartupResult = {
        readyMs,
        drainedMs: drainedAt.at - op.startedAt,
        writes: drainedAt.writes,
        reads: drainedAt.reads,
        rssBytes: drainedAt.rssBytes,
        heapUsedBytes: drainedAt.heapUsedBytes,
      };
      this.result.startup.push(sample);
      progress.note(`${this.label} ${phase}: ready in ${(readyMs / 1000).toFixed(2)} s, all ${this.n} reconciled in ${(sample.drainedMs / 1000).toFixed(2)} s with ${sample.writes} writes; RSS ${(sample.rssBytes / 2 ** 20).toFixed(0)} MB, heap ${(sample.heapUsedBytes / 2 ** 20).toFixed(0)} MB`);
      return { op, drainedAt };
    } catch (err) {
      await op.stop();
      throw err;
    }
  }

  private async idle(): Promise<void> {
    const { progress, options } = this.ctx;
    const { op, drainedAt } = await this.startup('idle', options.only.has('idle') ? options.syncPeriod : undefined);
    try {
      if (!options.only.has('idle')) return;
      const phase = `${this.label} idle`;
      const want = options.resyncs * this.n;
      let cur = drainedAt;
      let prev = drainedAt;
      const period = parseDuration(options.syncPeriod);
      const timeout = performance.now() + options.resyncs * 1.2 * period + this.timeoutMs();
      // Few scrapes inside the window (each costs the operator CPU): none until the resyncs are
      // due (the first comes 0.9-1.1 periods after the workers started), then every few seconds.
      const firstPoll = performance.now() + Math.max(0, options.resyncs * 0.9 * period - (drainedAt.at - op.startedAt));
      progress.set(phase, `waiting ${((firstPoll - performance.now()) / 1000).toFixed(0)} s for ${options.resyncs} resyncs`);
      await sleep(firstPoll - performance.now());
      for (;;) {
        await sleep(Math.max(1000, scrapeIntervalMs(this.n)));
        cur = await op.scrape();
        const done = cur.reconciles - drainedAt.reconciles;
        progress.set(phase, `${done}/${want} resync reconciles, ${cur.writes - drainedAt.writes} writes, ${seconds(cur.at - drainedAt.at).toFixed(0)} s`);
        if (done >= want && cur.queueDepth === 0 && cur.activeWorkers === 0 && cur.reconciles === prev.reconciles) break;
        if (performance.now() > timeout) throw new Error(`${phase}: only ${done} of ${want} resync reconciles happened before the timeout`);
        prev = cur;
      }
      const d = delta(drainedAt, cur);
      this.result.idle = {
        resyncs: d.reconciles / this.n,
        seconds: seconds(d.at),
        reconciles: d.reconciles,
        writes: d.writes,
        reads: d.reads,
        writesByMethod: d.byMethod,
        cpuSeconds: d.cpuSeconds,
      };
      progress.note(`${phase}: ${d.reconciles} reconciles (${this.result.idle.resyncs.toFixed(2)} resyncs) in ${this.result.idle.seconds.toFixed(0)} s: ${d.writes} writes, ${d.reads} reads, ${d.cpuSeconds.toFixed(2)} CPU s`);
    } finally {
      await op.stop();
    }
  }

  private async change(model: string): Promise<number> {
    const rev = `${this.repeat}-${++this.revSeq}`;
    const seen = this.opTracker!.waitForRev(model, rev, 60_000);
    const t0 = performance.now();
    await this.writer.patch(AIModels, this.nsOperator, model, { spec: { podAnnotations: { [revAnnotation]: rev } } }, { kind: 'merge' });
    return (await seen) - t0;
  }

  /** The latency floor's change: the bench patches a model, then applies its Deployment itself. */
  private async floorChange(client: KubeClient, model: string): Promise<number> {
    const rev = `${this.repeat}-${++this.revSeq}`;
    const seen = this.latencyTracker!.waitForRev(model, rev, 60_000);
    const t0 = performance.now();
    const patched = await this.writer.patch<KubeObject>(AIModels, this.nsLatencyFloor, model, { spec: { podAnnotations: { [revAnnotation]: rev } } }, { kind: 'merge' });
    await floorDeployment(client, patched);
    return (await seen) - t0;
  }

  private async latencyFloorSetup(client: KubeClient): Promise<string[]> {
    const names = Array.from({ length: LATENCY_FLOOR_MODELS }, (_, i) => modelName(i));
    await createNamespace(this.writer, this.nsLatencyFloor);
    const tracker = (this.latencyTracker = new NamespaceTracker(this.watcher, this.nsLatencyFloor, names, { withPdb: true }));
    await tracker.synced();
    await pool(names, 4, async (name) => floorWrites(client, await applyModel(this.writer, modelManifest(name, this.nsLatencyFloor, this.replicas))));
    await tracker.waitUntil('the latency floor models', () => tracker.settledDeployments() === names.length, this.timeoutMs());
    return names;
  }

  private async latency(): Promise<void> {
    const { progress, options } = this.ctx;
    const { op } = await this.startup('latency');
    const floorClient = await newClient(this.ctx, 'latency-floor');
    try {
      if (!options.only.has('latency')) return;
      const phase = `${this.label} latency`;
      const floorNames = await this.latencyFloorSetup(floorClient);
      const pick = () => this.names[Math.floor(Math.random() * this.n)]!;
      const idleMs: number[] = [];
      const idleFloorMs: number[] = [];
      // Operator and floor changes alternate, so both meet the same background noise.
      // At idle means one change at a time: each waits until the previous one has rolled out
      // (new pod Ready, old one gone, the model's status updated), then a short pause.
      const settle = async (tracker: NamespaceTracker, model: string, withStatus: boolean) => {
        await tracker.waitUntil(`${model} to roll out`, () => tracker.modelSettled(model, withStatus), 60_000).catch(() => {});
        await sleep(options.latencyGapMs);
      };
      for (let i = 0; i < options.latencySamples; i++) {
        const model = pick();
        idleMs.push(await this.change(model));
        await settle(this.opTracker!, model, true);
        const floorModel = floorNames[i % floorNames.length]!;
        idleFloorMs.push(await this.floorChange(floorClient, floorModel));
        await settle(this.latencyTracker!, floorModel, false);
        progress.set(`${phase} at idle`, `${i + 1}/${options.latencySamples} changes, last ${idleMs.at(-1)!.toFixed(1)} ms (floor ${idleFloorMs.at(-1)!.toFixed(1)} ms)`);
      }
      // Churn: churnRate of the models per minute, evenly spaced, each change timed on its own.
      const perMinute = options.churnRate * this.n;
      const intervalMs = 60_000 / perMinute;
      const planned = Math.floor((options.churnSeconds * 1000) / intervalMs);
      const churnMs: number[] = [];
      let timedOut = 0;
      const pending = new Set<string>();
      const inflight: Promise<void>[] = [];
      const t0 = performance.now();
      for (let i = 0; i < planned; i++) {
        const due = t0 + i * intervalMs;
        if (due > performance.now()) await sleep(due - performance.now());
        let model = pick();
        while (pending.has(model)) model = pick();
        pending.add(model);
        inflight.push(
          this.change(model).then(
            (ms) => void churnMs.push(ms),
            () => void timedOut++,
          ).finally(() => pending.delete(model)),
        );
        progress.set(`${phase} under churn`, `${i + 1}/${planned} changes (${perMinute.toFixed(0)}/min), ${churnMs.length} seen`);
      }
      await Promise.all(inflight);
      this.result.latency = { idleMs, idleFloorMs, churnMs, churnPlanned: planned, churnTimedOut: timedOut };
      const p = (xs: number[], q: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]!.toFixed(1) : '-');
      progress.note(`${phase}: idle p50 ${p(idleMs, 0.5)} ms p99 ${p(idleMs, 0.99)} ms (floor p50 ${p(idleFloorMs, 0.5)} ms p99 ${p(idleFloorMs, 0.99)} ms); churn p50 ${p(churnMs, 0.5)} ms p99 ${p(churnMs, 0.99)} ms (${churnMs.length} changes)`);
    } finally {
      await floorClient.close();
      await op.stop();
    }
  }
}

/** Deletes namespaces and waits until they are gone (their objects with them). */
export async function deleteNamespaces(client: KubeClient, spaces: string[], timeoutMs: number, onWait: (left: number) => void): Promise<boolean> {
  await Promise.all(spaces.map((ns) => client.delete(Namespaces, undefined, ns).catch(() => false)));
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const left = (await Promise.all(spaces.map((ns) => client.find(Namespaces, undefined, ns)))).filter(Boolean).length;
    if (left === 0) return true;
    if (performance.now() > deadline) return false;
    onWait(left);
    await sleep(2000);
  }
}
