// Operator configuration from flags and environment, validated with zod. Every setting has a
// flag (--workers) and an environment variable (AIMODEL_WORKERS); a flag wins over the
// environment. A bad value is reported with its name, what was given and the accepted form.
import { z } from 'zod';
import { ENGINES } from '../api/v1/engine.ts';

const durationPattern = /^(\d+(\.\d+)?(ms|s|m|h))+$/;
const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go-style duration such as 500ms, 15s, 1h30m into milliseconds. */
export function parseDuration(text: string): number {
  if (!durationPattern.test(text)) throw new Error('not a duration');
  let total = 0;
  for (const [, value, , unit] of text.matchAll(/(\d+(\.\d+)?)(ms|s|m|h)/g)) total += Number(value) * unitMs[unit!]!;
  return total;
}

const duration = (min: number) =>
  z
    .string()
    .refine((s) => durationPattern.test(s), { message: 'expected a duration such as 500ms, 15s, 10m or 1h30m' })
    .transform(parseDuration)
    .refine((ms) => ms >= min, { message: `must be at least ${min} ms` });

const address = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, { message: 'expected host:port such as :8080 or 127.0.0.1:8080 (port 0 picks a free port)' })
  .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, { message: 'port must be at most 65535' });

const bool = z
  .string()
  .regex(/^(true|false|1|0|yes|no)$/i, { message: 'expected true or false' })
  .transform((s) => /^(true|1|yes)$/i.test(s));

const dns1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const IMAGE_REFERENCE = /^[^\s,=]+$/;
const PRESET_ENGINES = ENGINES.filter((engine) => engine !== 'openai-compatible');

/** `vllm=registry.local/vllm-openai:v0.11.0,ollama=...` → { vllm: ..., ollama: ... }. */
const engineImages = z.string().transform((text, ctx) => {
  const images: Record<string, string> = {};
  for (const entry of text.split(',').map((item) => item.trim()).filter(Boolean)) {
    const equals = entry.indexOf('=');
    const engine = equals === -1 ? entry : entry.slice(0, equals);
    const image = equals === -1 ? '' : entry.slice(equals + 1);
    if (engine === 'openai-compatible') {
      ctx.addIssue({ code: 'custom', message: 'the openai-compatible engine\'s image is --default-image' });
    } else if (!(PRESET_ENGINES as readonly string[]).includes(engine)) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(engine)} is not an engine: expected one of ${PRESET_ENGINES.join(', ')}` });
    } else if (!IMAGE_REFERENCE.test(image) || image.length > 512) {
      ctx.addIssue({ code: 'custom', message: `expected ${engine}=<image reference>` });
    } else if (engine in images) {
      ctx.addIssue({ code: 'custom', message: `${engine} is given twice` });
    } else {
      images[engine] = image;
    }
  }
  return images as Partial<Record<Exclude<(typeof ENGINES)[number], 'openai-compatible'>, string>>;
});

interface OptionSpec {
  flag: string;
  env: string;
  default?: string;
  help: string;
  schema: z.ZodType;
  /** Boolean flags may be given without a value (`--leader-elect`). */
  boolean?: boolean;
}

function option<S extends z.ZodType, D extends string | undefined = undefined>(
  flag: string,
  schema: S,
  help: string,
  defaultValue?: D,
  boolean = false,
): OptionSpec & { schema: S; default: D } {
  const env = `AIMODEL_${flag.replace(/-/g, '_').toUpperCase()}`;
  return { flag, env, schema, help, boolean, default: defaultValue as D };
}

export const options = {
  kubeconfig: option('kubeconfig', z.string().min(1), 'Path to a kubeconfig file. Defaults to $KUBECONFIG, then ~/.kube/config, then the in-cluster service account.'),
  context: option('context', z.string().min(1), 'Kubeconfig context to use (default: the current context).'),
  namespaces: option(
    'namespaces',
    z
      .string()
      .transform((s) => s.split(',').map((n) => n.trim()).filter(Boolean))
      .refine((list) => list.every((n) => dns1123.test(n) && n.length <= 63), { message: 'expected a comma-separated list of namespace names (DNS-1123 labels)' }),
    'Comma-separated namespaces to watch; empty watches all namespaces.',
    '',
  ),
  workers: option('workers', z.coerce.number().int().min(1).max(256), 'Concurrent reconciles (MaxConcurrentReconciles), 1..256.', '4'),
  leaderElect: option('leader-elect', bool, 'Elect a leader through a coordination.k8s.io Lease; only the leader reconciles.', 'true', true),
  leaderElectNamespace: option('leader-elect-namespace', z.string().regex(dns1123, { message: 'expected a namespace name' }), 'Namespace of the leader Lease (default: the pod namespace, else "default").'),
  leaderElectId: option('leader-elect-id', z.string().max(253).regex(dns1123Subdomain, { message: 'expected a DNS-1123 subdomain such as aimodel-operator-leader or aimodel.example.com' }), 'Name of the leader Lease.', 'aimodel-operator-leader'),
  leaseDuration: option('leader-elect-lease-duration', duration(1000), 'How long a Lease is valid without renewal.', '15s'),
  renewDeadline: option('leader-elect-renew-deadline', duration(500), 'How long the leader retries renewing before it stops leading.', '10s'),
  retryPeriod: option('leader-elect-retry-period', duration(100), 'Interval between Lease acquire and renew attempts.', '2s'),
  metricsBindAddress: option('metrics-bind-address', address, 'Address of the Prometheus /metrics endpoint.', ':8080'),
  metricsSecure: option(
    'metrics-secure',
    bool,
    'Serve /metrics over HTTPS to authenticated and authorized callers only, as controller-runtime\'s secure metrics: the bearer token is checked with a TokenReview and access with a SubjectAccessReview for GET on the non-resource URL /metrics (grant it with a ClusterRole rule nonResourceURLs: ["/metrics"], verbs: ["get"]). No token or a rejected one gets 401, a caller without the grant 403. Needs create on tokenreviews and subjectaccessreviews. Off: plain HTTP, open to anyone who reaches the port.',
    'false',
    true,
  ),
  metricsCertPath: option('metrics-cert-path', z.string().min(1), 'Directory with the metrics serving certificate and key (e.g. a mounted kubernetes.io/tls Secret), re-read when they change. Without it, --metrics-secure serves a self-signed certificate made at start-up.'),
  metricsCertName: option('metrics-cert-name', z.string().min(1).regex(/^[^/]+$/, { message: 'expected a file name' }), 'Certificate file in --metrics-cert-path.', 'tls.crt'),
  metricsCertKey: option('metrics-cert-key', z.string().min(1).regex(/^[^/]+$/, { message: 'expected a file name' }), 'Private key file in --metrics-cert-path.', 'tls.key'),
  healthProbeBindAddress: option('health-probe-bind-address', address, 'Address of the /healthz and /readyz endpoints.', ':8081'),
  defaultImage: option('default-image', z.string().min(1).max(512).regex(/^[^\s]+$/, { message: 'expected an image reference without spaces' }), 'Inference image of the openai-compatible engine (the default spec.engine) for AIModels that do not set spec.image.', 'openai/chatgpt-local:latest'),
  engineImages: option(
    'engine-images',
    engineImages,
    `Comma-separated <engine>=<image> pairs replacing engine presets' pinned images for AIModels that do not set spec.image, e.g. vllm=registry.local/vllm/vllm-openai:v0.11.0 (a mirror). Engines: ${PRESET_ENGINES.join(', ')}.`,
    '',
  ),
  clusterDomain: option('cluster-domain', z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a DNS domain such as cluster.local'), "The cluster's DNS domain, for the in-cluster endpoint (http://<model>.<namespace>.svc.<domain>:<port>) reported on each AIModel's status.", 'cluster.local'),
  podMonitors: option(
    'pod-monitors',
    z.enum(['auto', 'true', 'false']),
    "Make a Prometheus Operator PodMonitor per AIModel whose engine exports metrics, selecting exactly its pods on the engine's metrics path: auto (when monitoring.coreos.com/v1 PodMonitor is served at start-up), true (and fail to start without it) or false.",
    'auto',
  ),
  podMetricsAnnotations: option(
    'pod-metrics-annotations',
    bool,
    'Where no PodMonitor is made, annotate model pods with prometheus.io/scrape, prometheus.io/port and prometheus.io/path for Prometheus set-ups that discover pods by them.',
    'true',
  ),
  scaledObjects: option(
    'scaled-objects',
    z.enum(['auto', 'true', 'false']),
    'Make a KEDA ScaledObject for each AIModel whose spec.autoscaling.target is an engine signal (queueLength, runningRequests, kvCacheUtilizationPercent): auto (when keda.sh/v1alpha1 ScaledObject is served at start-up), true (and fail to start without it) or false. Where none is made, such a model runs at spec.replicas and says why on its AutoscalingActive condition.',
    'auto',
  ),
  prometheusAddress: option(
    'prometheus-address',
    z
      .string()
      .max(2048)
      .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, { message: 'expected an http(s) URL such as http://prometheus-operated.monitoring.svc:9090' }),
    'Base URL of the Prometheus that scrapes the model pods, for the Prometheus trigger of the ScaledObjects (KEDA queries it; the operator does not). Without it, engine-signal targets do not scale.',
  ),
  kedaPollingInterval: option(
    'keda-polling-interval',
    duration(1000).refine((ms) => ms % 1000 === 0, { message: 'must be whole seconds' }),
    "The ScaledObjects' pollingInterval: how often KEDA checks the signal of a model that may scale to zero (minReplicas 0). Above zero, its HPA scales on the HPA controller's sync period.",
    '15s',
  ),
  kedaCooldownPeriod: option(
    'keda-cooldown-period',
    duration(0).refine((ms) => ms % 1000 === 0, { message: 'must be whole seconds' }),
    "The ScaledObjects' cooldownPeriod: how long the signal of a model with minReplicas 0 must stay 0 before KEDA scales it to zero.",
    '5m',
  ),
  defaultCpuRequest: option(
    'default-cpu-request',
    z.string().regex(/^([0-9]+(\.[0-9]+)?m?|[0-9]+(\.[0-9]+)?)$/, { message: 'expected a CPU quantity such as 1, 500m or 0.5' }).refine((q) => parseFloat(q) > 0, { message: 'must be more than 0' }),
    'The CPU request a CPU utilisation target (the default target) is measured against when the AIModel names no CPU request or limit: its HPA targets that share of this much CPU per pod (an AverageValue target, which needs no request on the pods, so the pods are not changed).',
    '1',
  ),
  logLevel: option('log-level', z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']), 'Log level: trace, debug, info, warn, error or fatal.', 'info'),
  logFormat: option('log-format', z.enum(['json', 'pretty', 'auto']), 'Log format: json, pretty, or auto (pretty on a terminal, else json).', 'auto'),
  syncPeriod: option('sync-period', duration(1000), 'Period of the full resync that re-reconciles every AIModel (jittered by 10%).', '10h'),
  gracefulShutdownTimeout: option('graceful-shutdown-timeout', duration(0), 'How long in-flight reconciles may take to finish on SIGTERM.', '30s'),
  kubeApiQps: option('kube-api-qps', z.coerce.number().min(0).max(100_000), 'Client-side request rate limit towards the API server; 0, the default, leaves flow control to the API server (Priority and Fairness, 429 with Retry-After), as controller-runtime does.', '0'),
  kubeApiBurst: option('kube-api-burst', z.coerce.number().int().min(1).max(100_000), 'Client-side burst above --kube-api-qps (when that is set).', '100'),
} as const;

type Options = typeof options;
type Value<O> = O extends { schema: infer S extends z.ZodType; default: infer D } ? (D extends string ? z.output<S> : z.output<S> | undefined) : never;
export type OperatorConfig = { [K in keyof Options]: Value<Options[K]> } & {
  help: boolean;
  version: boolean;
};

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}\nRun with --help for every flag and its accepted form.`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Parses argv (without node and script) and an environment into a validated configuration. */
export function parseConfig(argv: string[], env: Record<string, string | undefined>): OperatorConfig {
  const byFlag = new Map(Object.entries(options).map(([key, spec]) => [spec.flag, { key, spec }]));
  const raw = new Map<string, { value: string; source: string }>();
  const problems: string[] = [];
  let help = false;
  let version = false;

  for (const [key, spec] of Object.entries(options)) {
    const value = env[spec.env];
    if (value !== undefined && value !== '') raw.set(key, { value, source: `environment variable ${spec.env}` });
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (arg === '--version') {
      version = true;
      continue;
    }
    const match = /^--([a-z0-9-]+)(?:=(.*))?$/s.exec(arg);
    const entry = match ? byFlag.get(match[1]!) : undefined;
    if (!match || !entry) {
      problems.push(`${arg}: unknown flag`);
      continue;
    }
    let value = match[2];
    if (value === undefined) {
      const next = argv[i + 1];
      if (entry.spec.boolean && (next === undefined || next.startsWith('--'))) value = 'true';
      else if (next === undefined) {
        problems.push(`--${entry.spec.flag}: missing value`);
        continue;
      } else {
        value = next;
        i++;
      }
    }
    raw.set(entry.key, { value, source: `--${entry.spec.flag}` });
  }

  const config: Record<string, unknown> = { help, version };
  for (const [key, spec] of Object.entries(options) as [string, OptionSpec][]) {
    const given = raw.get(key);
    const text = given?.value ?? spec.default;
    if (text === undefined) continue;
    const parsed = spec.schema.safeParse(text);
    if (parsed.success) config[key] = parsed.data;
    else problems.push(`${given?.source ?? `default of --${spec.flag}`}: ${JSON.stringify(text)}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  if (problems.length === 0) {
    const c = config as OperatorConfig;
    if (c.renewDeadline >= c.leaseDuration) problems.push('--leader-elect-renew-deadline must be shorter than --leader-elect-lease-duration');
    if (c.retryPeriod >= c.renewDeadline) problems.push('--leader-elect-retry-period must be shorter than --leader-elect-renew-deadline');
    if (c.metricsCertPath && !c.metricsSecure) problems.push('--metrics-cert-path needs --metrics-secure (plain HTTP serves no certificate)');
  }
  if (problems.length > 0 && !help) throw new ConfigError(problems);
  return config as OperatorConfig;
}

export function helpText(): string {
  const lines = [
    'aimodel-operator: reconciles ai.openai.com/v1 AIModel resources into Deployments, Services,',
    'HorizontalPodAutoscalers (or KEDA ScaledObjects), PodDisruptionBudgets and PersistentVolumeClaims.',
    '',
    'Usage: aimodel-operator [flags]',
    '',
    'Flags (each also settable by the environment variable shown):',
  ];
  for (const spec of Object.values(options) as OptionSpec[]) {
    lines.push(`  --${spec.flag}${spec.boolean ? '[=true|false]' : ' <value>'}`);
    lines.push(`      ${spec.help}`);
    lines.push(`      env ${spec.env}${spec.default !== undefined ? `; default ${JSON.stringify(spec.default)}` : ''}`);
  }
  lines.push('  --help      Show this help.', '  --version   Print the version.', '');
  lines.push('Endpoints: /metrics on the metrics address (HTTPS with authentication under --metrics-secure); /healthz and /readyz on the health probe address.');
  return lines.join('\n');
}
