// Which autoscaler a model gets, and the KEDA ScaledObject for engine-signal targets.
//
// CPU (and the raw autoscaling/v2 metrics) go to the operator's own HorizontalPodAutoscaler. An
// engine signal goes to a KEDA ScaledObject whose Prometheus trigger sums the engine's gauge over
// the model's pods; KEDA makes an HPA of its own (keda-hpa-<model>) with an External metric of
// target type AverageValue, so replicas = ceil(sum / target): the per-replica target a user wrote.
import type { V2MetricTarget } from '@kubernetes/client-node';
import type { AIModel } from '../api/v1/aimodel.ts';
import { quantityValue } from '../api/v1/formats.ts';
import { type AutoscalingSignal, engineSignalOf, type ScaleFromZero } from '../api/v1/autoscaling.ts';
import type { EngineSignal } from '../api/v1/engine.ts';
import type { OperatorDefaults } from './defaults.ts';
import { enginePreset } from './engines/index.ts';
import type { EngineGauges } from './engines/index.ts';
import { childMetadata, type Intent } from './metadata.ts';
import { childName, KEDA_HPA_PREFIX } from './names.ts';

/** Used when neither a target nor targetCPUUtilizationPercentage nor metrics is set; the HPA default too. */
export const DEFAULT_CPU_UTILIZATION = 80;

export const KEDA_API_VERSION = 'keda.sh/v1alpha1';

/** Names of the ScaledObject's triggers, as `kubectl get scaledobject -o yaml` shows them. */
const ENGINE_SIGNAL_TRIGGER = 'engine-signal';
const SCALE_FROM_ZERO_TRIGGER = 'scale-from-zero';

/** What scales a model, decided from its spec and what the cluster offers. */
export type AutoscalerChoice =
  /** Autoscaling is off, or the model is suspended: the operator sets replicas itself. */
  | { kind: 'None' }
  | { kind: 'HorizontalPodAutoscaler'; signal?: AutoscalingSignal; target?: number }
  /** wakesOn: the series whose sum above 0 brings the model back from zero (spec.autoscaling.scaleFromZero). */
  | { kind: 'ScaledObject'; signal: EngineSignal; target: number; wakesOn?: string }
  /** An engine signal the cluster cannot serve: the model runs at a fixed count and says why. */
  | { kind: 'Unavailable'; signal: EngineSignal; target: number; reason: 'KEDANotInstalled' | 'PrometheusAddressNotSet'; message: string };

type AutoscalerDefaults = Pick<OperatorDefaults, 'scaledObjects' | 'prometheusAddress'>;

export function autoscalerFor(model: Pick<AIModel, 'spec'>, defaults: AutoscalerDefaults): AutoscalerChoice {
  const { autoscaling, suspend } = model.spec;
  if (autoscaling === undefined || suspend) return { kind: 'None' };
  const signal = engineSignalOf(autoscaling.target);
  if (signal === undefined) {
    const cpu = cpuTarget(model);
    return cpu === undefined ? { kind: 'HorizontalPodAutoscaler' } : { kind: 'HorizontalPodAutoscaler', signal: 'cpuUtilizationPercent', target: cpu };
  }
  const target = autoscaling.target![signal]!;
  const field = `spec.autoscaling.target.${signal}`;
  const fixed = fixedReplicas(model);
  if (!defaults.scaledObjects) {
    const message = `${field} scales through KEDA, and ${KEDA_API_VERSION} ScaledObject is not served by this cluster: install KEDA (its Helm chart kedacore/keda, or https://keda.sh/docs/deploy/) and restart the operator. Until then the model runs ${fixed} replica${fixed === 1 ? '' : 's'} (spec.replicas).`;
    return { kind: 'Unavailable', signal, target, reason: 'KEDANotInstalled', message };
  }
  if (defaults.prometheusAddress === undefined) {
    const message = `${field} is read from Prometheus, and the operator has no --prometheus-address (the chart's autoscaling.prometheusAddress): set it to the Prometheus that scrapes the model pods. Until then the model runs ${fixed} replica${fixed === 1 ? '' : 's'} (spec.replicas).`;
    return { kind: 'Unavailable', signal, target, reason: 'PrometheusAddressNotSet', message };
  }
  const scaleFromZero = autoscaling.scaleFromZero;
  return scaleFromZero === undefined ? { kind: 'ScaledObject', signal, target } : { kind: 'ScaledObject', signal, target, wakesOn: scaleFromZeroSeries(scaleFromZero) };
}

/** The count a model with an autoscaler that cannot run is held at: spec.replicas, else minReplicas but at least 1. */
export function fixedReplicas(model: Pick<AIModel, 'spec'>): number {
  return model.spec.replicas ?? Math.max(1, model.spec.autoscaling?.minReplicas ?? 1);
}

/** The CPU utilisation the operator's HPA targets, if it targets CPU. */
export function cpuTarget(model: Pick<AIModel, 'spec'>): number | undefined {
  const autoscaling = model.spec.autoscaling;
  if (autoscaling === undefined || engineSignalOf(autoscaling.target) !== undefined) return undefined;
  return (
    autoscaling.target?.cpuUtilizationPercent ??
    autoscaling.targetCPUUtilizationPercentage ??
    ((autoscaling.metrics ?? []).length === 0 ? DEFAULT_CPU_UTILIZATION : undefined)
  );
}

/** True when utilisation can be computed: the pods request CPU (Kubernetes takes a missing request from the limit). */
export function requestsCpu(model: Pick<AIModel, 'spec'>): boolean {
  const resources = model.spec.resources;
  return resources?.requests?.cpu !== undefined || resources?.limits?.cpu !== undefined;
}

/** CPU cores of --default-cpu-request. */
export function defaultCpuCores(defaults: Pick<OperatorDefaults, 'defaultCpuRequest'>): number {
  return quantityValue(defaults.defaultCpuRequest) ?? 1;
}

/**
 * A CPU utilisation target as the HPA gets it. Utilisation is use divided by request, and without
 * a request the HPA reports FailedGetResourceMetric and never scales. A model that names no CPU
 * request is measured against --default-cpu-request instead: the target becomes an average of
 * that share of it per pod (AverageValue), which needs no request on the pods, so the pod
 * template, and the rollout, never depend on whether the model autoscales.
 */
export function cpuMetricTarget(model: Pick<AIModel, 'spec'>, percent: number, defaults: Pick<OperatorDefaults, 'defaultCpuRequest'>): V2MetricTarget {
  if (requestsCpu(model)) return { type: 'Utilization', averageUtilization: percent };
  const millicores = Math.max(1, Math.round((defaultCpuCores(defaults) * 1000 * percent) / 100));
  return { type: 'AverageValue', averageValue: `${millicores}m` };
}

/** The name of the HorizontalPodAutoscaler that decides a model's replica count under this choice. */
export function deciderHpaName(model: { metadata: { name: string } }, choice: AutoscalerChoice): string | undefined {
  if (choice.kind === 'HorizontalPodAutoscaler') return childName(model, 'HorizontalPodAutoscaler');
  if (choice.kind === 'ScaledObject') return `${KEDA_HPA_PREFIX}${childName(model, 'ScaledObject')}`;
  return undefined;
}

const GAUGE_OF_SIGNAL: Record<EngineSignal, keyof EngineGauges> = {
  queueLength: 'queue',
  runningRequests: 'running',
  kvCacheUtilizationPercent: 'kvCacheUsage',
};

/**
 * The PromQL KEDA runs: the engine's gauge summed over exactly this model's pods, one series.
 * Pods are selected by name, `<deployment>-<pod-template-hash>-<suffix>`, as Prometheus labels
 * every scraped pod's series with namespace and pod (a PodMonitor and the usual annotation-based
 * scrape configs alike): two dash-free segments after the Deployment's name, so model "a" never
 * counts the pods of model "a-b". KV-cache gauges are fractions; the sum is in percent.
 */
export function engineSignalQuery(model: AIModel, signal: EngineSignal): string {
  const gauge = enginePreset(model.spec.engine).gauges[GAUGE_OF_SIGNAL[signal]];
  // The API refuses a signal the engine does not export; an object that bypassed it gets here.
  if (gauge === undefined) throw new Error(`engine ${model.spec.engine} exports no gauge for ${signal}`);
  const deployment = childName(model, 'Deployment');
  const selector = `{namespace="${model.metadata.namespace}",pod=~"${deployment}-[a-z0-9]+-[a-z0-9]+"}`;
  const sum = `sum(${gauge}${selector})`;
  return signal === 'kvCacheUtilizationPercent' ? `100 * ${sum}` : sum;
}

/** A PromQL string literal: Prometheus reads double-quoted strings with Go's escapes. */
function promqlString(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/**
 * The PromQL of the scaleFromZero trigger: 1 while any request waits for the model in front of it,
 * else 0. With a threshold of 1 this trigger asks for exactly one replica while requests wait,
 * whatever their number, and none otherwise: it only wakes the model, and the engine signal,
 * once the replica reports it, decides how many more. Its activation (above 0) is what makes
 * KEDA leave zero.
 */
export function scaleFromZeroQuery(scaleFromZero: ScaleFromZero): string {
  return `clamp_max(sum(${scaleFromZeroSeries(scaleFromZero)}), 1)`;
}

/** The series selector of scaleFromZero, e.g. `queue_size{target_model_name="m"}`. */
export function scaleFromZeroSeries(scaleFromZero: ScaleFromZero): string {
  const labels = scaleFromZero.matchLabels.map((l) => `${l.name}=${promqlString(l.value)}`).join(',');
  return `${scaleFromZero.metric}{${labels}}`;
}

type PrometheusTrigger = { type: 'prometheus'; name: string; metricType: 'AverageValue'; metadata: Record<string, string> };

/** The part of KEDA's keda.sh/v1alpha1 ScaledObject the operator sets. */
export type ScaledObject = {
  apiVersion: string;
  kind: string;
  spec: {
    scaleTargetRef: { apiVersion: string; kind: string; name: string };
    minReplicaCount: number;
    maxReplicaCount: number;
    pollingInterval: number;
    cooldownPeriod: number;
    advanced?: { horizontalPodAutoscalerConfig: { behavior: unknown } };
    triggers: PrometheusTrigger[];
  };
};

export function desiredScaledObject(model: AIModel, defaults: OperatorDefaults): Intent<ScaledObject> | undefined {
  const choice = autoscalerFor(model, defaults);
  if (choice.kind !== 'ScaledObject') return undefined;
  const autoscaling = model.spec.autoscaling!;
  // KEDA's default metric type, spelled out: replicas = ceil(query / threshold).
  const prometheusTrigger = (name: string, query: string, threshold: number): PrometheusTrigger => ({
    type: 'prometheus',
    name,
    metricType: 'AverageValue',
    metadata: { serverAddress: defaults.prometheusAddress!, query, threshold: String(threshold) },
  });
  const scaledObject: Intent<ScaledObject> = {
    apiVersion: KEDA_API_VERSION,
    kind: 'ScaledObject',
    metadata: childMetadata(model, 'ScaledObject'),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: childName(model, 'Deployment') },
      minReplicaCount: autoscaling.minReplicas,
      maxReplicaCount: autoscaling.maxReplicas,
      pollingInterval: defaults.kedaPollingIntervalSeconds,
      cooldownPeriod: defaults.kedaCooldownPeriodSeconds,
      triggers: [
        // The engine signal stays the first trigger: its HPA metric is s0-prometheus, which status reads.
        prometheusTrigger(ENGINE_SIGNAL_TRIGGER, engineSignalQuery(model, choice.signal), choice.target),
        ...(autoscaling.scaleFromZero === undefined ? [] : [prometheusTrigger(SCALE_FROM_ZERO_TRIGGER, scaleFromZeroQuery(autoscaling.scaleFromZero), 1)]),
      ],
    },
  };
  if (autoscaling.behavior !== undefined && Object.keys(autoscaling.behavior).length > 0) {
    scaledObject.spec.advanced = { horizontalPodAutoscalerConfig: { behavior: structuredClone(autoscaling.behavior) } };
  }
  return scaledObject;
}
