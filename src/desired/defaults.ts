import type { Engine } from '../api/v1/engine.ts';

/**
 * Operator-wide settings that shape every model's children: the platform's security and
 * scheduling policy, not the model owner's choice. A model may only pick its own pod ids
 * (spec.securityContext, within the restricted Pod Security Standard) and its own image.
 */
export type OperatorDefaults = {
  /** Image of the openai-compatible engine for models without spec.image (--default-image). */
  defaultImage: string;
  /**
   * Images replacing the presets' pinned ones, per engine, for models without spec.image
   * (--engine-images), e.g. a mirror in a private registry. openai-compatible uses defaultImage.
   */
  engineImages: Partial<Record<Exclude<Engine, 'openai-compatible'>, string>>;
  /**
   * Numeric user and group the model pods run as. The image's own USER is unknown: with
   * runAsNonRoot alone, an image that runs as root (or names its user instead of numbering it)
   * fails to start. Leave undefined on platforms that assign ids themselves (OpenShift's
   * restricted SCC rejects ids outside the namespace's range).
   */
  runAsUser?: number;
  runAsGroup?: number;
  /**
   * Group that owns the model volume, so the non-root server can write downloaded weights. Set
   * with fsGroupChangePolicy OnRootMismatch, so large volumes are not re-chowned on every start.
   */
  fsGroup?: number;
  /** Mount the root filesystem read-only, with a writable emptyDir at /tmp. */
  readOnlyRootFilesystem: boolean;
  /**
   * Tolerate the nvidia.com/gpu:NoSchedule taint when the model requests nvidia.com/gpu. GPU node
   * pools are commonly tainted this way (GKE, AKS, EKS setups with the NVIDIA operator) so that
   * only GPU workloads land on them; a GPU model without the toleration would stay Pending.
   */
  gpuToleration: boolean;
  /** The cluster's DNS domain, for the in-cluster endpoint reported on status. */
  clusterDomain: string;
  /**
   * How Prometheus finds the engines' metrics on the model pods: a PodMonitor per model (where
   * the Prometheus Operator's CRD is served), the conventional prometheus.io/* pod annotations,
   * or nothing.
   */
  podMetrics: PodMetrics;
  /**
   * Whether KEDA's keda.sh/v1alpha1 ScaledObject is served (found at start-up): models with an
   * engine-signal target scale through one only where it is, and run at spec.replicas elsewhere.
   */
  scaledObjects: boolean;
  /** Base URL of the Prometheus KEDA queries for engine signals (--prometheus-address); none: they cannot scale. */
  prometheusAddress?: string;
  /** KEDA's pollingInterval: how often it checks the signal while scaled to zero (and to get there). */
  kedaPollingIntervalSeconds: number;
  /** KEDA's cooldownPeriod: how long the signal must be 0 before a model with minReplicas 0 goes to zero. */
  kedaCooldownPeriodSeconds: number;
  /**
   * The CPU request a CPU utilisation target is measured against when the model names no CPU
   * request or limit (--default-cpu-request): the HPA targets that share of it per pod as an
   * AverageValue, since utilisation cannot be computed without a request.
   */
  defaultCpuRequest: string;
};

export type PodMetrics = 'PodMonitor' | 'annotations' | 'none';

export const DEFAULT_OPERATOR_DEFAULTS: OperatorDefaults = {
  defaultImage: 'openai/chatgpt-local:latest',
  engineImages: {},
  runAsUser: 1000,
  runAsGroup: 1000,
  fsGroup: 1000,
  readOnlyRootFilesystem: true,
  gpuToleration: true,
  clusterDomain: 'cluster.local',
  podMetrics: 'annotations',
  scaledObjects: false,
  kedaPollingIntervalSeconds: 15,
  kedaCooldownPeriodSeconds: 300,
  defaultCpuRequest: '1',
};
