// The local cluster's simulated metrics: what kwok serves for each fake pod, and how a test drives it.
//
// kwok plays kubelet: at /metrics/nodes/<node>/metrics/resource it serves the kubelet's resource
// metrics (read by metrics-server through the node annotation metrics.k8s.io/resource-metrics-path),
// with each container's CPU and memory taken from its pod's annotations kwok.x-k8s.io/usage-cpu and
// kwok.x-k8s.io/usage-memory (kwok's own ClusterResourceUsage, from the pinned release). When
// Prometheus runs, the same endpoint serves every engine preset's gauges (vllm:num_requests_waiting,
// ...) and a gateway's queue (GATEWAY_QUEUE_GAUGE) for every pod, each from a pod annotation
// (gaugeAnnotation), labelled namespace, pod, container and endpoint as a PodMonitor's scrape of
// the pod's `http` port labels them, so one PromQL query serves a real cluster and this one.
// Prometheus finds the endpoints through kwok's /discovery/prometheus.
//
// One Metric path only: kwok keeps one registry per node, and a scrape of one path prunes the
// series of every other path, so two paths scraped at once (metrics-server, Prometheus) would now
// and then answer with each other's series, or none.
import { readFile } from 'node:fs/promises';
import { dump, loadAll } from 'js-yaml';
import { ENGINE_PRESETS } from '../../src/desired/engines/index.ts';

/** Each container of the pod uses this much CPU (a quantity, e.g. "250m"); default 1m. */
export const USAGE_CPU_ANNOTATION = 'kwok.x-k8s.io/usage-cpu';
/** Each container of the pod uses this much memory (a quantity, e.g. "64Mi"); default 1Mi. */
export const USAGE_MEMORY_ANNOTATION = 'kwok.x-k8s.io/usage-memory';
/** Prefix of the annotations that set a pod's simulated engine gauges. */
export const GAUGE_ANNOTATION_PREFIX = 'kwok.ai.openai.com/';

/**
 * The pod annotation whose value (a number) the gauge reports for that pod; 0 without it.
 * Annotation names cannot hold ':', so 'vllm:num_requests_waiting' is read from
 * 'kwok.ai.openai.com/vllm.num_requests_waiting'.
 */
export function gaugeAnnotation(gauge: string): string {
  return `${GAUGE_ANNOTATION_PREFIX}${gauge.replaceAll(':', '.')}`;
}

/**
 * A gateway's count of the requests it holds for a model while no replica can take them (the
 * Gateway API Inference Extension's Endpoint Picker with flow control), labelled with that model:
 * what spec.autoscaling.scaleFromZero reads. Any pod can play the gateway: its value comes from
 * gaugeAnnotation(GATEWAY_QUEUE_GAUGE), its target_model_name label from GATEWAY_TARGET_MODEL_ANNOTATION.
 */
export const GATEWAY_QUEUE_GAUGE = 'inference_extension_flow_control_queue_size';
export const GATEWAY_TARGET_MODEL_ANNOTATION = `${GAUGE_ANNOTATION_PREFIX}target-model-name`;

/** Every gauge name an engine preset declares, once. */
export function engineGaugeNames(): string[] {
  const names = new Set<string>();
  for (const preset of Object.values(ENGINE_PRESETS)) {
    for (const name of Object.values(preset.gauges)) if (name) names.add(name);
  }
  return [...names].sort();
}

/** Where kwok serves a node's metrics; the value of the node's resource-metrics-path annotation. */
export function nodeMetricsPath(node: string): string {
  return `/metrics/nodes/${node}/metrics/resource`;
}

const cel = (s: string) => JSON.stringify(s);

const annotationOr = (annotation: string, otherwise: string, read: (value: string) => string = (v) => v) =>
  `${cel(annotation)} in pod.metadata.annotations ? ${read(`pod.metadata.annotations[${cel(annotation)}]`)} : ${otherwise}`;

function podGauge(name: string, extraLabels: { name: string; value: string }[] = []): Record<string, unknown> {
  return {
    name,
    dimension: 'pod',
    kind: 'gauge',
    help: `Simulated ${name}: the pod's annotation ${gaugeAnnotation(name)}, else 0.`,
    labels: [
      { name: 'namespace', value: 'pod.metadata.namespace' },
      { name: 'pod', value: 'pod.metadata.name' },
      { name: 'container', value: 'pod.spec.containers[0].name' },
      { name: 'endpoint', value: cel('http') },
      ...extraLabels,
    ],
    value: annotationOr(gaugeAnnotation(name), '0.0', (v) => `double(${v})`),
  };
}

const gatewayQueueGauge = () => podGauge(GATEWAY_QUEUE_GAUGE, [{ name: 'target_model_name', value: annotationOr(GATEWAY_TARGET_MODEL_ANNOTATION, cel('')) }]);

interface KwokDocument {
  kind?: string;
  metadata?: { name?: string };
  spec?: { path?: string; metrics?: unknown[] };
}

/**
 * kwok's --config: the release's stages, its usage-from-annotation ClusterResourceUsage, and its
 * kubelet resource Metric, with the engine gauges added when something scrapes them (Prometheus):
 * each scrape evaluates every gauge for every pod of the node, which a benchmark's thousands of
 * pods would feel. Both source files are copied out of the pinned kwok module by
 * hack/build-components.sh.
 */
export async function kwokConfig(shareDir: string, options: { engineGauges: boolean }): Promise<string> {
  const stages = await readFile(`${shareDir}/kwok-stages.yaml`, 'utf8');
  const metricsFile = `${shareDir}/kwok-metrics.yaml`;
  const docs = (loadAll(await readFile(metricsFile, 'utf8').catch(() => {
    throw new Error(`${metricsFile} is missing; run hack/build-components.sh kwok`);
  })) as (KwokDocument | null)[]).filter((d): d is KwokDocument => !!d);
  const resource = docs.find((d) => d.kind === 'Metric' && d.spec?.path === nodeMetricsPath('{nodeName}'));
  if (!resource?.spec?.metrics) throw new Error(`${metricsFile} has no Metric at ${nodeMetricsPath('{nodeName}')}`);
  if (options.engineGauges) resource.spec.metrics.push(...engineGaugeNames().map((name) => podGauge(name)), gatewayQueueGauge());
  return [stages.trimEnd(), ...docs.map((d) => dump(d, { lineWidth: -1 }).trimEnd())].join('\n---\n').replace(/(\n---)+\n/g, '\n---\n') + '\n';
}

/**
 * Prometheus scraping kwok's metrics every 2 s (KEDA's polling and the HPA's sync are the slower
 * hops). Targets come from kwok's discovery, one per node; instance is the node, as a PodMonitor's
 * target is one pod's, never the shared kwok address, so node-level series do not collide.
 */
export function prometheusConfig(kwokPort: number): string {
  return dump({
    global: { scrape_interval: '2s', scrape_timeout: '2s', evaluation_interval: '2s' },
    scrape_configs: [
      {
        job_name: 'kwok',
        http_sd_configs: [{ url: `http://127.0.0.1:${kwokPort}/discovery/prometheus`, refresh_interval: '5s' }],
        relabel_configs: [
          { source_labels: ['__metrics_path__'], regex: '/metrics/nodes/([^/]+)/.*', target_label: 'instance', replacement: '$1' },
          { action: 'labeldrop', regex: 'metrics_name' },
        ],
      },
    ],
  });
}
