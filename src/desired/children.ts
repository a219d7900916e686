// The desired state of a model's children as server-side-apply intents: pure functions of the
// AIModel and the operator defaults, with only the fields the operator has an opinion on.
import type {
  V1Deployment,
  V1PersistentVolumeClaim,
  V1PodDisruptionBudget,
  V1Service,
  V2HorizontalPodAutoscaler,
  V2MetricSpec,
  V2MetricTarget,
} from '@kubernetes/client-node';
import type { AIModel } from '../api/v1/aimodel.ts';
import type { MetricSpec, MetricTarget } from '../api/v1/autoscaling.ts';
import { autoscalerFor, cpuMetricTarget, cpuTarget, desiredScaledObject } from './autoscaling.ts';
import type { ScaledObject } from './autoscaling.ts';
import type { OperatorDefaults } from './defaults.ts';
import { desiredDeployment, metricsEndpoint, PORT_NAME } from './deployment.ts';
import { childMetadata, type Intent, quantityString } from './metadata.ts';
import { childName, selectorLabels } from './names.ts';

export type DesiredChildren = {
  deployment: Intent<V1Deployment>;
  service: Intent<V1Service>;
  /** Present when the model autoscales on CPU or raw metrics and is not suspended: else the reconciler deletes any HPA. */
  hpa?: Intent<V2HorizontalPodAutoscaler>;
  /** Present when the model autoscales on an engine signal and KEDA can serve it. */
  scaledObject?: Intent<ScaledObject>;
  /** Absent when disabled or suspended. */
  pdb?: Intent<V1PodDisruptionBudget>;
  /** Present only for spec.storage.volumeClaim. */
  pvc?: Intent<V1PersistentVolumeClaim>;
  /** Present when the operator makes PodMonitors and the engine exports metrics. */
  podMonitor?: Intent<PodMonitor>;
};

/** The part of the Prometheus Operator's monitoring.coreos.com/v1 PodMonitor the operator sets. */
export type PodMonitor = {
  apiVersion: string;
  kind: string;
  spec: { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: { port: string; path: string }[] };
};

export function desiredChildren(model: AIModel, defaults: OperatorDefaults): DesiredChildren {
  const children: DesiredChildren = {
    deployment: desiredDeployment(model, defaults),
    service: desiredService(model),
  };
  const hpa = desiredHorizontalPodAutoscaler(model, defaults);
  if (hpa !== undefined) children.hpa = hpa;
  const scaledObject = desiredScaledObject(model, defaults);
  if (scaledObject !== undefined) children.scaledObject = scaledObject;
  const pdb = desiredPodDisruptionBudget(model);
  if (pdb !== undefined) children.pdb = pdb;
  const pvc = desiredPersistentVolumeClaim(model);
  if (pvc !== undefined) children.pvc = pvc;
  const podMonitor = desiredPodMonitor(model, defaults);
  if (podMonitor !== undefined) children.podMonitor = podMonitor;
  return children;
}

/** Tells the Prometheus Operator to scrape exactly this model's pods on the engine's metrics path. */
export function desiredPodMonitor(model: AIModel, defaults: OperatorDefaults): Intent<PodMonitor> | undefined {
  const endpoint = metricsEndpoint(model.spec);
  if (endpoint === undefined || defaults.podMetrics !== 'PodMonitor') return undefined;
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PodMonitor',
    metadata: childMetadata(model, 'PodMonitor'),
    spec: { selector: { matchLabels: selectorLabels(model) }, podMetricsEndpoints: [{ port: endpoint.port, path: endpoint.path }] },
  };
}

export function desiredService(model: AIModel): Intent<V1Service> {
  const { service, port } = model.spec;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMetadata(model, 'Service', service.annotations),
    spec: {
      type: service.type,
      selector: selectorLabels(model),
      ports: [{ name: PORT_NAME, port: service.port ?? port, targetPort: PORT_NAME, protocol: 'TCP' }],
    },
  };
}

export { DEFAULT_CPU_UTILIZATION } from './autoscaling.ts';

export function desiredHorizontalPodAutoscaler(
  model: AIModel,
  defaults: Pick<OperatorDefaults, 'scaledObjects' | 'prometheusAddress' | 'defaultCpuRequest'>,
): Intent<V2HorizontalPodAutoscaler> | undefined {
  const autoscaling = model.spec.autoscaling;
  if (autoscaling === undefined || autoscalerFor(model, defaults).kind !== 'HorizontalPodAutoscaler') return undefined;
  const userMetrics = (autoscaling.metrics ?? []).map(metricSpec);
  const cpu = cpuTarget(model);
  const cpuMetrics: V2MetricSpec[] = cpu === undefined ? [] : [{ type: 'Resource', resource: { name: 'cpu', target: cpuMetricTarget(model, cpu, defaults) } }];
  const hpa: Intent<V2HorizontalPodAutoscaler> = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: childMetadata(model, 'HorizontalPodAutoscaler'),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: childName(model, 'Deployment') },
      minReplicas: autoscaling.minReplicas,
      maxReplicas: autoscaling.maxReplicas,
      metrics: [...cpuMetrics, ...userMetrics],
    },
  };
  if (autoscaling.behavior !== undefined && Object.keys(autoscaling.behavior).length > 0) {
    hpa.spec.behavior = structuredClone(autoscaling.behavior);
  }
  return hpa;
}

function metricTarget(target: MetricTarget): V2MetricTarget {
  const result: V2MetricTarget = { type: target.type };
  if (target.averageUtilization !== undefined) result.averageUtilization = target.averageUtilization;
  if (target.averageValue !== undefined) result.averageValue = quantityString(target.averageValue);
  if (target.value !== undefined) result.value = quantityString(target.value);
  return result;
}

function metricSpec(metric: MetricSpec): V2MetricSpec {
  const result: V2MetricSpec = { type: metric.type };
  if (metric.resource !== undefined) {
    result.resource = { name: metric.resource.name, target: metricTarget(metric.resource.target) };
  }
  if (metric.containerResource !== undefined) {
    const { name, container, target } = metric.containerResource;
    result.containerResource = { name, container, target: metricTarget(target) };
  }
  if (metric.pods !== undefined) {
    result.pods = { metric: structuredClone(metric.pods.metric), target: metricTarget(metric.pods.target) };
  }
  if (metric.object !== undefined) {
    result.object = {
      describedObject: structuredClone(metric.object.describedObject),
      metric: structuredClone(metric.object.metric),
      target: metricTarget(metric.object.target),
    };
  }
  if (metric.external !== undefined) {
    result.external = { metric: structuredClone(metric.external.metric), target: metricTarget(metric.external.target) };
  }
  return result;
}

/**
 * The PDB defaults to maxUnavailable 1: a drain proceeds one model pod at a time, yet a single
 * replica can still be evicted, so it never wedges a node drain. Unhealthy pods (still loading,
 * crash-looping) may always be evicted: holding a node for a pod that serves nothing helps no one.
 */
export function desiredPodDisruptionBudget(model: AIModel): Intent<V1PodDisruptionBudget> | undefined {
  const { podDisruptionBudget: budget, suspend } = model.spec;
  if (!budget.enabled || suspend) return undefined;
  const limit =
    budget.minAvailable !== undefined
      ? { minAvailable: budget.minAvailable }
      : { maxUnavailable: budget.maxUnavailable ?? 1 };
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: childMetadata(model, 'PodDisruptionBudget'),
    spec: {
      selector: { matchLabels: selectorLabels(model) },
      ...limit,
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  };
}

export function desiredPersistentVolumeClaim(model: AIModel): Intent<V1PersistentVolumeClaim> | undefined {
  const claim = model.spec.storage.volumeClaim;
  if (claim === undefined) return undefined;
  const pvc: Intent<V1PersistentVolumeClaim> = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: childMetadata(model, 'PersistentVolumeClaim'),
    spec: {
      accessModes: [...claim.accessModes],
      resources: { requests: { storage: quantityString(claim.size) } },
    },
  };
  if (claim.storageClassName !== undefined) pvc.spec.storageClassName = claim.storageClassName;
  return pvc;
}
