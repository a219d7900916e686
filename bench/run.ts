// npm run bench: convergence (against the bare-client floor), idle cost, memory, spec-change
// latency and start-up of the operator for N AIModels, on a local control plane of its own.
// See bench/README.md for what each number means and how it is taken.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../src/kube/client.ts';
import { ensureComponents, LocalCluster, runKubectl } from '../hack/localcluster/cluster.ts';
import { autoscalingMarkdown, runAutoscaling } from './lib/autoscaling.ts';
import type { AutoscalingResult } from './lib/autoscaling.ts';
import { repoRoot } from './lib/operator.ts';
import { HELP, parseOptions, replicasFor } from './lib/options.ts';
import type { BenchOptions } from './lib/options.ts';
import { deleteNamespaces, Round } from './lib/phases.ts';
import type { BenchContext, RepeatResult } from './lib/phases.ts';
import { controlPlanePids } from './lib/proc.ts';
import { Progress } from './lib/progress.ts';
import { markdownTable, slopeLine, summarize, textTable, verdictLines } from './lib/report.ts';
import type { Summary } from './lib/report.ts';

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

interface Environment {
  node: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  loadAverageAtStart: number[];
  kubernetes: string;
  apiServerArgs: string[];
  cluster: 'local' | 'existing';
  /** The checkout measured: commit and files under src/ that differ from it. */
  commit: string;
  srcChanges: string[];
}

function git(args: string[]): Promise<string> {
  return new Promise((resolvePromise) => execFile('git', args, { cwd: repoRoot }, (err, stdout) => resolvePromise(err ? '' : String(stdout).trim())));
}

function markdown(options: BenchOptions, env: Environment, summary: Summary, results: RepeatResult[], started: Date, finished: Date, autoscaling: AutoscalingResult | undefined): string {
  const minutes = ((finished.getTime() - started.getTime()) / 60_000).toFixed(1);
  const autoscalingSection = autoscaling ? autoscalingMarkdown(autoscaling, basename(autoscaling.pngPath)) : undefined;
  if (results.length === 0) {
    return [
      `# Benchmark ${stamp(started)}`,
      '',
      `Commit ${env.commit}${env.srcChanges.length ? ` with uncommitted changes to ${env.srcChanges.join(', ')}` : ''}; ` +
        `${env.cpus} × ${env.cpuModel}, ${env.memoryGiB} GiB, load ${env.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')} at start; Node ${env.node}; Kubernetes ${env.kubernetes} (${env.cluster} cluster); ${minutes} min.`,
      `Operator flags added: ${options.operatorArgs.join(' ') || '(none)'}; Node flags: ${options.nodeOptions.join(' ') || '(none)'}.`,
      '',
      autoscalingSection ?? 'No measurement completed.',
      'Method: bench/README.md.',
      '',
    ].join('\n');
  }
  return [
    `# Benchmark ${stamp(started)}`,
    '',
    `Commit ${env.commit}${env.srcChanges.length ? ` with uncommitted changes to ${env.srcChanges.join(', ')}` : ''}; ${options.operatorEntry ? `operator entry ${options.operatorEntry}; ` : ''}` +
      `${env.cpus} × ${env.cpuModel}, ${env.memoryGiB} GiB, load ${env.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')} at start; Node ${env.node}; Kubernetes ${env.kubernetes} (${env.cluster} cluster); ${minutes} min.`,
    '',
    `Sizes ${options.sizes.join(', ')}; ${options.repeat} repeat(s); concurrency ${options.concurrency} (bench applies, floor writers, operator --workers); ` +
      `replicas ${options.sizes.map((n) => `${replicasFor(options, n)} at N=${n}`).join(', ')}; idle over ${options.resyncs} resyncs at --sync-period=${options.syncPeriod}; ` +
      `${options.latencySamples} idle changes, churn ${options.churnRate * 100}%/min for ${options.churnSeconds} s.`,
    `kube-apiserver flags added: ${env.apiServerArgs.join(' ') || '(none)'}; operator flags added: ${options.operatorArgs.join(' ') || '(none)'}; Node flags: ${options.nodeOptions.join(' ') || '(none)'}.`,
    '',
    'Cells: median [min–max] over repeats. Latency: percentile of all samples pooled [min–max of the per-repeat percentile] (sample count).',
    '',
    markdownTable(summary),
    '',
    slopeLine(summary) ?? 'Slope across N: needs two sizes.',
    '',
    '## Targets',
    '',
    ...verdictLines(summary).map((l) => `- ${l}`),
    '',
    '## Per repeat',
    '',
    '| N | repeat | order | operator s (load) | floor s (load) | ratio | API server + etcd CPU s, operator / floor | idle writes | RSS MiB | ready s |',
    '| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map(
      (r) =>
        `| ${r.n} | ${r.repeat} | ${r.order} | ${r.operator ? `${r.operator.seconds.toFixed(2)} (${r.operator.loadAverage.toFixed(1)})` : '-'} | ${r.floor ? `${r.floor.seconds.toFixed(2)} (${r.floor.loadAverage.toFixed(1)})` : '-'} | ${r.ratio?.toFixed(2) ?? '-'} | ` +
        `${r.operator && r.floor ? `${r.operator.controlPlaneCpuSeconds.toFixed(1)} / ${r.floor.controlPlaneCpuSeconds.toFixed(1)}` : '-'} | ${r.idle?.writes ?? '-'} | ${r.memory ? (r.memory.settledRssBytes / 2 ** 20).toFixed(0) : '-'} | ${r.startup.map((s) => (s.readyMs / 1000).toFixed(2)).join(', ') || '-'} |`,
    ),
    '',
    ...(autoscalingSection ? [autoscalingSection] : []),
    'Method: bench/README.md.',
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const started = new Date();
  const id = stamp(started);
  const outDir = resolve(repoRoot, options.outDir);
  await mkdir(outDir, { recursive: true });
  const workDir = await mkdtemp(join(tmpdir(), 'aimodel-bench-'));
  const logDir = join(workDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const profileDir = options.cpuProf || options.heapSnapshot ? join(outDir, `profiles-${id}`) : undefined;
  if (profileDir) await mkdir(profileDir, { recursive: true });

  const progress = new Progress();
  let cluster: LocalCluster | undefined;
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    progress.note('interrupted: stopping the cluster (again to exit at once)');
    void (cluster?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const results: RepeatResult[] = [];
  let autoscaling: AutoscalingResult | undefined;
  let failed = false;
  const jsonPath = join(outDir, `${id}.json`);
  const mdPath = join(outDir, `${id}.md`);
  let env: Environment | undefined;
  const save = async (final: boolean) => {
    if (!env) return;
    const summary = summarize(results);
    const finished = new Date();
    await writeFile(jsonPath, `${JSON.stringify({ id, startedAt: started.toISOString(), finishedAt: finished.toISOString(), complete: final, options: { ...options, only: [...options.only] }, environment: env, summary, results, autoscaling }, null, 2)}\n`);
    await writeFile(mdPath, markdown(options, env, summary, results, started, finished, autoscaling));
    return summary;
  };

  try {
    let kubeconfig: string;
    let binDir: string;
    if (options.kubeconfig) {
      if (options.only.has('autoscaling')) throw new Error('--only autoscaling needs the bench\'s own cluster (KEDA and Prometheus); drop --kubeconfig');
      kubeconfig = resolve(options.kubeconfig);
      binDir = await ensureComponents((m) => progress.note(m));
      progress.note(`using the existing cluster of ${kubeconfig}; --api-server-arg has no effect`);
    } else {
      progress.set('starting the local control plane');
      // KEDA and Prometheus only for the autoscaling scenario: two more processes, and the first use builds KEDA.
      cluster = await LocalCluster.start({ stateDir: join(workDir, 'cluster'), apiServerArgs: options.apiServerArgs, log: (m) => progress.note(m), keepState: options.keep, keda: options.only.has('autoscaling') });
      kubeconfig = cluster.kubeconfigPath;
      binDir = cluster.binDir;
    }
    progress.set('installing the CRD');
    const crd = await runKubectl(binDir, kubeconfig, ['apply', '--server-side', '--force-conflicts', '-f', join(repoRoot, 'crds')]);
    if (crd.code !== 0) throw new Error(`installing the CRD failed: ${crd.stderr}`);
    const est = await runKubectl(binDir, kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/aimodels.ai.openai.com']);
    if (est.code !== 0) throw new Error(`the CRD did not become established: ${est.stderr}`);

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfig);
    const admin = await KubeClient.fromKubeConfig(kubeConfig, { userAgent: 'aimodel-bench' });
    const version = await admin.request<{ gitVersion?: string }>({ method: 'GET', path: '/version' });
    env = {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      loadAverageAtStart: loadavg(),
      kubernetes: version.gitVersion ?? 'unknown',
      apiServerArgs: options.kubeconfig ? [] : options.apiServerArgs,
      cluster: options.kubeconfig ? 'existing' : 'local',
      commit: (await git(['rev-parse', '--short', 'HEAD'])) || 'unknown',
      srcChanges: (await git(['status', '--porcelain', '--', 'src'])).split('\n').filter(Boolean).map((l) => l.slice(3)),
    };
    const ctx: BenchContext = { options, kubeconfig, kubeConfig, progress, runId: id.slice(-6), logDir, profileDir, controlPlanePids: options.kubeconfig ? [] : await controlPlanePids() };
    progress.note(`run ${id}: N=${options.sizes.join(',') || '-'}, ${options.repeat} repeat(s), measuring ${[...options.only].join(', ')}${options.only.has('autoscaling') ? ` (autoscaling with ${options.autoscalingModels} models)` : ''}; operator logs in ${logDir}`);
    // Rounds leave their objects in place: deleting thousands of models (and their Events) loads
    // the API server for minutes. Only when the next round's pods would not fit on the two CPU
    // nodes (5,000 pods each) are the earlier namespaces deleted first.
    const podBudget = 9000;
    let live: { spaces: string[]; pods: number }[] = [];
    const cleanup = async (label: string) => {
      const spaces = live.flatMap((l) => l.spaces);
      if (spaces.length === 0) return;
      progress.set(`cleanup ${label}`, `deleting ${spaces.length} namespaces`);
      const ok = await deleteNamespaces(admin, spaces, 900_000, (left) => progress.set(`cleanup ${label}`, `${left} namespaces terminating`));
      if (!ok) progress.note(`cleanup ${label}: namespaces still terminating after 15 min; going on`);
      live = [];
    };
    for (const n of options.sizes) {
      for (let repeat = 1; repeat <= options.repeat; repeat++) {
        if (interrupted) break;
        const round = new Round(ctx, n, repeat, replicasFor(options, n));
        if (options.cleanup || live.reduce((t, l) => t + l.pods, 0) + round.pods > podBudget) await cleanup(`before N=${n} repeat ${repeat}`);
        results.push(await round.run());
        live.push({ spaces: round.namespaces, pods: round.pods });
        await save(false);
      }
    }
    if (options.only.has('autoscaling') && !interrupted && cluster?.prometheusUrl) {
      autoscaling = await runAutoscaling({
        client: admin,
        kubeconfig,
        namespace: `bench-${id.slice(-6)}-autoscaling`,
        settings: {
          models: options.autoscalingModels,
          minReplicas: 1,
          maxReplicas: options.autoscalingMaxReplicas,
          queueTarget: 5,
          // Twice the target on every pod: each step of the HPA doubles the count, up to max.
          queuePerPod: 10,
          kedaPollingInterval: options.kedaPollingInterval,
          timeoutMs: 600_000,
        },
        prometheusUrl: cluster.prometheusUrl,
        prometheusConfigPath: join(workDir, 'cluster', 'prometheus', 'prometheus.yaml'),
        logDir,
        outDir,
        id,
        operatorEntry: options.operatorEntry,
        nodeOptions: options.nodeOptions,
        operatorArgs: options.operatorArgs,
        progress,
      });
      const u = autoscaling.summary.up;
      progress.note(`autoscaling: step up → decision ${(u.decisionMs.median / 1000).toFixed(1)} s, → new pod Ready ${(u.firstPodsMs.median / 1000).toFixed(1)} s (medians; HPA sync period ${autoscaling.bounds.hpaSyncPeriodS} s)`);
      await save(false);
    }
    // A cluster of the bench's own is thrown away whole; on an existing one, leave no namespaces behind.
    if (options.kubeconfig && !options.keep) await cleanup('at the end');
    await admin.close();
    progress.stop();
    const summary = (await save(true))!;
    if (results.length > 0) {
      process.stdout.write(`\n${textTable(summary)}\n\n`);
      const slopes = slopeLine(summary);
      if (slopes) process.stdout.write(`${slopes}\n\n`);
      process.stdout.write(`${verdictLines(summary).join('\n')}\n\n`);
    }
    if (autoscaling) process.stdout.write(`\n${autoscalingMarkdown(autoscaling, autoscaling.pngPath)}\n`);
    process.stdout.write(`results: ${jsonPath}\nsummary: ${mdPath}\n`);
    if (profileDir) process.stdout.write(`profiles: ${profileDir} (operator pids by phase are in the JSON)\n`);
    return 0;
  } catch (err) {
    progress.stop();
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\noperator logs: ${logDir}\n`);
    await save(false).catch(() => {});
    failed = true;
    return 1;
  } finally {
    await cluster?.stop().catch(() => {});
    // Operator logs stay for a failed run.
    if (!options.keep && !failed) await rm(workDir, { recursive: true, force: true }).catch(() => {});
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${String(err)}\n`);
    process.exit(1);
  },
);
