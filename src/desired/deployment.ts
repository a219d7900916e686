import type {
  V1Affinity,
  V1Container,
  V1Deployment,
  V1DeploymentStrategy,
  V1EnvVar,
  V1PodSecurityContext,
  V1PodSpec,
  V1Probe,
  V1ResourceRequirements,
  V1Toleration,
  V1Volume,
} from '@kubernetes/client-node';
import type { AIModel, AIModelSpec } from '../api/v1/aimodel.ts';
import { quantityValue } from '../api/v1/formats.ts';
import {
  GPU_RESOURCE,
  isExtendedResource,
  MODEL_CONTAINER_NAME,
  MODEL_ENV_NAME,
  MODEL_MOUNT_PATH,
} from '../api/v1/pod.ts';
import type { OperatorDefaults } from './defaults.ts';
import { childMetadata, type Intent, quantityMap } from './metadata.ts';
import { childName, commonLabels, selectorLabels } from './names.ts';

export const PORT_NAME = 'http';
const MODELS_VOLUME = 'models';
const TMP_VOLUME = 'tmp';

/** Kubernetes' own default, and the floor: a fast start should still be reported promptly. */
const MIN_PROGRESS_DEADLINE_SECONDS = 600;
/** Slack after the startup budget for image pulls and scheduling. */
const PROGRESS_DEADLINE_SLACK_SECONDS = 300;

/**
 * The replica count the operator asserts on the Deployment, or undefined when it must not assert
 * one: while autoscaling, the HPA owns spec.replicas, and applying any value would fight it (the
 * most reported bug of inference operators, kserve#2278). Suspended models are pinned to 0, with
 * the HPA removed, because an HPA would scale a suspended model back up to minReplicas.
 */
export function deploymentReplicas(spec: AIModelSpec): number | undefined {
  if (spec.suspend) return 0;
  if (spec.autoscaling !== undefined) return undefined;
  return spec.replicas ?? 1;
}

export function usesGpu(spec: AIModelSpec): boolean {
  const requested = [spec.resources?.requests?.[GPU_RESOURCE], spec.resources?.limits?.[GPU_RESOURCE]];
  return requested.some((quantity) => quantity !== undefined && (quantityValue(quantity) ?? 0) > 0);
}

export function desiredDeployment(model: AIModel, defaults: OperatorDefaults): Intent<V1Deployment> {
  const { spec } = model;
  const replicas = deploymentReplicas(spec);
  const podLabels = { ...spec.podLabels, ...commonLabels(model) };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: childMetadata(model, 'Deployment'),
    spec: {
      ...(replicas === undefined ? {} : { replicas }),
      selector: { matchLabels: selectorLabels(model) },
      strategy: strategy(spec),
      progressDeadlineSeconds: progressDeadlineSeconds(spec),
      template: {
        metadata: {
          labels: podLabels,
          ...(spec.podAnnotations !== undefined && Object.keys(spec.podAnnotations).length > 0
            ? { annotations: { ...spec.podAnnotations } }
            : {}),
        },
        spec: podSpec(model, defaults),
      },
    },
  };
}

function strategy(spec: AIModelSpec): V1DeploymentStrategy {
  if (spec.strategy.type === 'Recreate') return { type: 'Recreate' };
  const rollingUpdate = spec.strategy.rollingUpdate ?? { maxSurge: 0, maxUnavailable: 1 };
  return { type: 'RollingUpdate', rollingUpdate: { maxSurge: rollingUpdate.maxSurge, maxUnavailable: rollingUpdate.maxUnavailable } };
}

/**
 * A Deployment reports ProgressDeadlineExceeded after 10 minutes by default, while a large model
 * may legitimately spend 30 in its startup probe: the deadline follows the startup budget so a
 * slow load is not reported as a failed rollout.
 */
export function progressDeadlineSeconds(spec: AIModelSpec): number {
  const startup = spec.probes.startup;
  const budget = startup.enabled ? startup.initialDelaySeconds + startup.periodSeconds * startup.failureThreshold : 0;
  return Math.max(MIN_PROGRESS_DEADLINE_SECONDS, budget + PROGRESS_DEADLINE_SLACK_SECONDS);
}

function podSpec(model: AIModel, defaults: OperatorDefaults): V1PodSpec {
  const { spec } = model;
  const tolerations = podTolerations(spec, defaults);
  const pod: V1PodSpec = {
    // Model servers do not call the Kubernetes API; a mounted token would only be something to steal.
    automountServiceAccountToken: false,
    // Service environment variables are never needed and grow with the namespace.
    enableServiceLinks: false,
    securityContext: podSecurityContext(defaults),
    containers: [container(spec, defaults)],
    volumes: volumes(model, defaults),
  };
  if (spec.nodeSelector !== undefined && Object.keys(spec.nodeSelector).length > 0) pod.nodeSelector = { ...spec.nodeSelector };
  if (tolerations.length > 0) pod.tolerations = tolerations;
  const affinity = podAffinity(spec);
  if (affinity !== undefined) pod.affinity = affinity;
  if (spec.priorityClassName !== undefined) pod.priorityClassName = spec.priorityClassName;
  if (spec.runtimeClassName !== undefined) pod.runtimeClassName = spec.runtimeClassName;
  return pod;
}

/** The restricted Pod Security Standard, set explicitly so the pods pass a namespace that enforces it. */
function podSecurityContext(defaults: OperatorDefaults): V1PodSecurityContext {
  const context: V1PodSecurityContext = { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } };
  if (defaults.runAsUser !== undefined) context.runAsUser = defaults.runAsUser;
  if (defaults.runAsGroup !== undefined) context.runAsGroup = defaults.runAsGroup;
  if (defaults.fsGroup !== undefined) {
    context.fsGroup = defaults.fsGroup;
    context.fsGroupChangePolicy = 'OnRootMismatch';
  }
  return context;
}

function container(spec: AIModelSpec, defaults: OperatorDefaults): V1Container {
  const result: V1Container = {
    name: MODEL_CONTAINER_NAME,
    image: spec.image ?? defaults.defaultImage,
    ports: [{ name: PORT_NAME, containerPort: spec.port, protocol: 'TCP' }],
    env: [{ name: MODEL_ENV_NAME, value: spec.model }, ...(spec.env ?? []).map(envVar)],
    volumeMounts: [
      { name: MODELS_VOLUME, mountPath: MODEL_MOUNT_PATH },
      ...(defaults.readOnlyRootFilesystem ? [{ name: TMP_VOLUME, mountPath: '/tmp' }] : []),
    ],
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: defaults.readOnlyRootFilesystem,
      runAsNonRoot: true,
    },
  };
  if (spec.imagePullPolicy !== undefined) result.imagePullPolicy = spec.imagePullPolicy;
  if (spec.command !== undefined) result.command = [...spec.command];
  if (spec.args !== undefined) result.args = [...spec.args];
  const resources = resourceRequirements(spec);
  if (resources !== undefined) result.resources = resources;
  const { startup, readiness, liveness } = spec.probes;
  if (startup.enabled) result.startupProbe = httpProbe(startup);
  if (readiness.enabled) result.readinessProbe = { ...httpProbe(readiness), successThreshold: readiness.successThreshold };
  if (liveness.enabled) result.livenessProbe = httpProbe(liveness);
  return result;
}

type EnvVarSpec = NonNullable<AIModelSpec['env']>[number];

function envVar(env: EnvVarSpec): V1EnvVar {
  const result: V1EnvVar = { name: env.name };
  if (env.value !== undefined) result.value = env.value;
  const from = env.valueFrom;
  if (from?.configMapKeyRef !== undefined) result.valueFrom = { configMapKeyRef: { ...from.configMapKeyRef } };
  if (from?.secretKeyRef !== undefined) result.valueFrom = { secretKeyRef: { ...from.secretKeyRef } };
  return result;
}

/**
 * Kubernetes rejects a container that requests an extended resource (a GPU) without the same
 * limit, so a GPU given only in requests is mirrored into limits rather than failing the apply.
 */
function resourceRequirements(spec: AIModelSpec): V1ResourceRequirements | undefined {
  const requests = spec.resources?.requests;
  const limits = { ...spec.resources?.limits };
  for (const [name, quantity] of Object.entries(requests ?? {})) {
    if (isExtendedResource(name) && limits[name] === undefined) limits[name] = quantity;
  }
  const result: V1ResourceRequirements = {};
  if (requests !== undefined && Object.keys(requests).length > 0) result.requests = quantityMap(requests);
  if (Object.keys(limits).length > 0) result.limits = quantityMap(limits);
  return Object.keys(result).length > 0 ? result : undefined;
}

type ProbeSpec = AIModelSpec['probes']['startup'];

function httpProbe(probe: ProbeSpec): V1Probe {
  return {
    httpGet: { path: probe.path, port: PORT_NAME },
    initialDelaySeconds: probe.initialDelaySeconds,
    periodSeconds: probe.periodSeconds,
    timeoutSeconds: probe.timeoutSeconds,
    failureThreshold: probe.failureThreshold,
  };
}

const GPU_TOLERATION: V1Toleration = { key: GPU_RESOURCE, operator: 'Exists', effect: 'NoSchedule' };

function podTolerations(spec: AIModelSpec, defaults: OperatorDefaults): V1Toleration[] {
  const tolerations: V1Toleration[] = (spec.tolerations ?? []).map((toleration) => {
    const result: V1Toleration = { operator: toleration.operator };
    if (toleration.key !== undefined) result.key = toleration.key;
    if (toleration.value !== undefined) result.value = toleration.value;
    if (toleration.effect !== undefined) result.effect = toleration.effect;
    if (toleration.tolerationSeconds !== undefined) result.tolerationSeconds = toleration.tolerationSeconds;
    return result;
  });
  const gpuTolerated = tolerations.some((t) => t.key === GPU_RESOURCE || ((t.key ?? '') === '' && t.operator === 'Exists'));
  if (defaults.gpuToleration && usesGpu(spec) && !gpuTolerated) tolerations.push({ ...GPU_TOLERATION });
  return tolerations;
}

function podAffinity(spec: AIModelSpec): V1Affinity | undefined {
  const affinity = spec.affinity;
  if (affinity === undefined) return undefined;
  // The CRD preserves these verbatim and the API server validates them with the Deployment.
  const result = { ...affinity } as V1Affinity;
  return Object.keys(result).length > 0 ? result : undefined;
}

function volumes(model: AIModel, defaults: OperatorDefaults): V1Volume[] {
  const { storage } = model.spec;
  const models: V1Volume = { name: MODELS_VOLUME };
  if (storage.existingClaim !== undefined) {
    models.persistentVolumeClaim = { claimName: storage.existingClaim.claimName };
  } else if (storage.volumeClaim !== undefined) {
    models.persistentVolumeClaim = { claimName: childName(model, 'PersistentVolumeClaim') };
  } else {
    const emptyDir = storage.emptyDir ?? {};
    // `emptyDir: {}` is the volume source itself, not an unset field: it must be sent even when empty.
    models.emptyDir = {};
    if (emptyDir.sizeLimit !== undefined) models.emptyDir.sizeLimit = String(emptyDir.sizeLimit);
    if (emptyDir.medium !== undefined) models.emptyDir.medium = emptyDir.medium;
  }
  return defaults.readOnlyRootFilesystem ? [models, { name: TMP_VOLUME, emptyDir: {} }] : [models];
}
