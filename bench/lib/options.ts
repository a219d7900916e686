// Command-line flags of `npm run bench`.
import { readFileSync } from 'node:fs';
import { parseDuration } from '../../src/config/config.ts';

export const MEASUREMENTS = ['convergence', 'memory', 'startup', 'idle', 'latency', 'autoscaling'] as const;
export type Measurement = (typeof MEASUREMENTS)[number];
/** The measurements of the per-N rounds; autoscaling is a scenario of its own, run once. */
export const ROUND_MEASUREMENTS: readonly Measurement[] = ['convergence', 'memory', 'startup', 'idle', 'latency'];
/** What runs without --only: the rounds. Autoscaling starts KEDA and Prometheus too, so it is asked for. */
export const DEFAULT_MEASUREMENTS: readonly Measurement[] = ROUND_MEASUREMENTS;

export interface BenchOptions {
  sizes: number[];
  only: Set<Measurement>;
  repeat: number;
  concurrency: number;
  /** Model replicas per N; undefined picks 1 up to 2,000 models, else 0. */
  replicas: number | undefined;
  syncPeriod: string;
  resyncs: number;
  latencySamples: number;
  latencyGapMs: number;
  churnSeconds: number;
  /** Fraction of the models changed per minute under churn. */
  churnRate: number;
  operatorArgs: string[];
  /** The operator's entry point (another build or checkout to compare against). */
  operatorEntry: string | undefined;
  /** Node and V8 flags of the operator processes: the image's, then --node-option's (e.g. --trace-gc). */
  nodeOptions: string[];
  apiServerArgs: string[];
  kubeconfig: string | undefined;
  cpuProf: boolean;
  heapSnapshot: boolean;
  outDir: string;
  keep: boolean;
  /** Delete each round's namespaces before the next round (always done when pods would not fit). */
  cleanup: boolean;
  help: boolean;
  /** The autoscaling scenario's model count (--n when autoscaling is the only measurement). */
  autoscalingModels: number;
  autoscalingMaxReplicas: number;
  kedaPollingInterval: string;
}

/** Raised so the API server's concurrency limits are not what the bench measures (see bench/README.md). */
export const DEFAULT_API_SERVER_ARGS = ['--max-requests-inflight=1000', '--max-mutating-requests-inflight=500'];

export const HELP = `npm run bench -- [flags]

Starts a local control plane in a temporary directory, runs the operator as a separate process
against it, and measures convergence (with the bare-client floor), idle cost, memory, spec-change
latency and start-up for each N. Writes bench/results/<timestamp>.json and .md.

  --n <list>             model counts, comma-separated or repeated (default 100,1000)
  --large                add N=10000 (models run 0 replicas there)
  --only <list>          subset of: ${MEASUREMENTS.join(', ')} (default all but autoscaling)
                         autoscaling: N models on a queue-length target (KEDA + Prometheus), a load
                         step up and down, delays to the scale decision and to Ready pods, a PNG plot;
                         with --only autoscaling alone, --n is its model count (default 5)
  --autoscaling-models <k>  models in the autoscaling scenario next to other measurements (default 5)
  --autoscaling-max <r>  maxReplicas of the autoscaling models (default 4; minReplicas 1)
  --keda-polling-interval <d>  operator --keda-polling-interval in the autoscaling scenario (default 15s)
  --repeat <k>           repeats per N; medians and min-max are reported (default 2)
  --concurrency <c>      concurrent applies, floor writers and operator --workers (default 16)
  --replicas <r>         replicas per model (default 1 up to N=2000, else 0)
  --sync-period <d>      operator --sync-period for the idle measurement (default 10s)
  --resyncs <k>          forced resyncs counted in the idle measurement (default 3)
  --latency-samples <k>  single spec changes at idle (default 40)
  --churn-seconds <s>    length of the churn window in seconds (default 30)
  --churn-rate <f>       fraction of the models changed per minute under churn (default 0.1)
  --operator-arg <flag>  extra operator flag, repeatable (e.g. --operator-arg=--kube-api-qps=50)
  --operator-entry <f>   run this entry point instead of src/main.ts (e.g. dist/src/main.js or another checkout)
  --node-option <opt>    Node or V8 flag for the operator, on its command line after the image's
                         (${imageNodeFlags().join(' ') || 'none'}), repeatable (e.g. --node-option=--trace-gc)
  --no-image-node-flags  leave out the flags the image's ENTRYPOINT gives Node (V8's defaults)
  --api-server-arg <f>   extra kube-apiserver flag, repeatable
  --kubeconfig <path>    use an existing cluster instead of starting one (development only)
  --cpu-prof             write V8 CPU profiles of the operator processes (--cpu-prof)
  --heap-snapshot        write an operator heap snapshot after convergence
  --out <dir>            results directory (default bench/results)
  --cleanup              delete each round's namespaces before the next round (default: only
                         when the next round's pods would not fit on the fake nodes)
  --keep                 keep the bench namespaces (and the cluster state directory)
`;

export function parseOptions(argv: string[]): BenchOptions {
  const o: BenchOptions = {
    sizes: [],
    only: new Set(DEFAULT_MEASUREMENTS),
    repeat: 2,
    concurrency: 16,
    replicas: undefined,
    syncPeriod: '10s',
    resyncs: 3,
    latencySamples: 40,
    latencyGapMs: 100,
    churnSeconds: 30,
    churnRate: 0.1,
    operatorArgs: [],
    operatorEntry: undefined,
    nodeOptions: imageNodeFlags(),
    apiServerArgs: [...DEFAULT_API_SERVER_ARGS],
    kubeconfig: undefined,
    cpuProf: false,
    heapSnapshot: false,
    outDir: 'bench/results',
    keep: false,
    cleanup: false,
    help: false,
    autoscalingModels: 5,
    autoscalingMaxReplicas: 4,
    kedaPollingInterval: '15s',
  };
  let large = false;
  const int = (flag: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag}: expected an integer >= ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new Error(`unexpected argument ${JSON.stringify(arg)}; see --help`);
    const flag = m[1]!;
    const boolean = ['large', 'cpu-prof', 'heap-snapshot', 'keep', 'cleanup', 'help'];
    let value = m[2];
    if (!boolean.includes(flag) && value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new Error(`--${flag}: missing value`);
    }
    const v = value ?? '';
    switch (flag) {
      case 'n':
        for (const part of v.split(',').filter(Boolean)) o.sizes.push(int('--n', part.replace(/_/g, ''), 1));
        break;
      case 'large': large = true; break;
      case 'only': {
        const list = v.split(',').map((s) => s.trim()).filter(Boolean);
        for (const s of list) if (!(MEASUREMENTS as readonly string[]).includes(s)) throw new Error(`--only: unknown measurement ${s} (have ${MEASUREMENTS.join(', ')})`);
        o.only = new Set(list as Measurement[]);
        break;
      }
      case 'repeat': o.repeat = int('--repeat', v, 1); break;
      case 'concurrency': o.concurrency = int('--concurrency', v, 1); break;
      case 'replicas': o.replicas = int('--replicas', v, 0); break;
      case 'sync-period': parseDuration(v); o.syncPeriod = v; break;
      case 'resyncs': o.resyncs = int('--resyncs', v, 1); break;
      case 'latency-samples': o.latencySamples = int('--latency-samples', v, 0); break;
      case 'churn-seconds': o.churnSeconds = int('--churn-seconds', v, 0); break;
      case 'churn-rate': o.churnRate = Number(v); if (!(o.churnRate > 0)) throw new Error('--churn-rate: expected a positive fraction'); break;
      case 'operator-arg': o.operatorArgs.push(v); break;
      case 'node-option': o.nodeOptions.push(v); break;
      case 'no-image-node-flags': o.nodeOptions = o.nodeOptions.filter((f) => !imageNodeFlags().includes(f)); break;
      case 'operator-entry': o.operatorEntry = v; break;
      case 'api-server-arg': o.apiServerArgs.push(v); break;
      case 'kubeconfig': o.kubeconfig = v; break;
      case 'cpu-prof': o.cpuProf = true; break;
      case 'heap-snapshot': o.heapSnapshot = true; break;
      case 'out': o.outDir = v; break;
      case 'keep': o.keep = true; break;
      case 'cleanup': o.cleanup = true; break;
      case 'help': o.help = true; break;
      case 'autoscaling-models': o.autoscalingModels = int('--autoscaling-models', v, 1); break;
      case 'autoscaling-max': o.autoscalingMaxReplicas = int('--autoscaling-max', v, 2); break;
      case 'keda-polling-interval': parseDuration(v); o.kedaPollingInterval = v; break;
      default: throw new Error(`unknown flag --${flag}; see --help`);
    }
  }
  const roundsToo = ROUND_MEASUREMENTS.some((m) => o.only.has(m));
  if (o.only.has('autoscaling') && !roundsToo) {
    if (o.sizes.length > 1) throw new Error('--only autoscaling: --n takes one model count');
    if (o.sizes.length === 1) o.autoscalingModels = o.sizes[0]!;
    o.sizes = [];
    return o;
  }
  if (o.sizes.length === 0) o.sizes = [100, 1000];
  if (large && !o.sizes.includes(10_000)) o.sizes.push(10_000);
  o.sizes = [...new Set(o.sizes)].sort((a, b) => a - b);
  return o;
}

export function replicasFor(o: BenchOptions, n: number): number {
  return o.replicas ?? (n <= 2000 ? 1 : 0);
}

/**
 * The flags the image gives Node before the script (the Dockerfile's ENTRYPOINT), so the bench
 * measures the operator as it runs in a pod.
 */
export function imageNodeFlags(): string[] {
  const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
  const line = dockerfile.split('\n').filter((l) => /^ENTRYPOINT\s/.test(l)).at(-1);
  const entrypoint = line ? (JSON.parse(line.replace(/^ENTRYPOINT\s+/, '')) as string[]) : [];
  return entrypoint.slice(1, -1);
}
