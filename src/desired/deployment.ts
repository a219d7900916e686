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
  V1SecurityContext,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { type AIModel, type AIModelSpec, ENGINE_LABEL } from '../api/v1/aimodel.ts';
import { quantityValue } from '../api/v1/formats.ts';
import {
  GPU_RESOURCE,
  isExtendedResource,
  MODEL_CONTAINER_NAME,
  MODEL_ENV_NAME,
  MODEL_MOUNT_PATH,
  type ProbeSettings,
} from '../api/v1/pod.ts';
import { parseSourceUri } from '../api/v1/source.ts';
import { autoscalerFor, fixedReplicas } from './autoscaling.ts';
import { DEFAULT_OPERATOR_DEFAULTS } from './defaults.ts';
import type { OperatorDefaults } from './defaults.ts';
import { enginePreset, type ServeContext } from './engines/index.ts';
import { CACHE_DIR, HF_HOME_DIR, HOME_DIR, SHM_DIR, TMP_DIR } from './engines/types.ts';
import { childMetadata, type Intent, quantityMap } from './metadata.ts';
import { childName, commonLabels, selectorLabels } from './names.ts';

export const PORT_NAME = 'http';
const MODELS_VOLUME = 'models';
const HOME_VOLUME = 'home';
const TMP_VOLUME = 'tmp';
const SHM_VOLUME = 'dshm';

/** Kubernetes' own default, and the floor: a fast start should still be reported promptly. */
const MIN_PROGRESS_DEADLINE_SECONDS = 600;
/** Slack after the startup budget for image pulls and scheduling. */
const PROGRESS_DEADLINE_SLACK_SECONDS = 300;

/**
 * The replica count the operator asserts on the Deployment, or undefined when it must not assert
 * one: while autoscaling, the HPA (the operator's, or KEDA's) owns spec.replicas, and applying any
 * value would fight it (the most reported bug of inference operators, kserve#2278). Suspended
 * models are pinned to 0, with the autoscaler removed, because it would scale a suspended model
 * back up to minReplicas. An engine-signal target the cluster cannot serve (no KEDA) leaves no
 * autoscaler, so the operator holds the model at spec.replicas.
 */
export function deploymentReplicas(
  spec: AIModelSpec,
  defaults: Pick<OperatorDefaults, 'scaledObjects' | 'prometheusAddress'> = DEFAULT_OPERATOR_DEFAULTS,
): number | undefined {
  if (spec.suspend) return 0;
  if (spec.autoscaling === undefined) return spec.replicas ?? 1;
  return autoscalerFor({ spec }, defaults).kind === 'Unavailable' ? fixedReplicas({ spec }) : undefined;
}

export function usesGpu(spec: AIModelSpec): boolean {
  const requested = [spec.resources?.requests?.[GPU_RESOURCE], spec.resources?.limits?.[GPU_RESOURCE]];
  return requested.some((quantity) => quantity !== undefined && (quantityValue(quantity) ?? 0) > 0);
}

export function desiredDeployment(model: AIModel, defaults: OperatorDefaults): Intent<V1Deployment> {
  const { spec } = model;
  const replicas = deploymentReplicas(spec, defaults);
  const podLabels = { ...spec.podLabels, ...commonLabels(model), [ENGINE_LABEL]: spec.engine };
  const podAnnotations = { ...scrapeAnnotations(spec, defaults), ...spec.podAnnotations };
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
          ...(Object.keys(podAnnotations).length > 0 ? { annotations: podAnnotations } : {}),
        },
        spec: podSpec(model, defaults),
      },
    },
  };
}

function strategy(spec: AIModelSpec): V1DeploymentStrategy {
  if (spec.strategy.type === 'Recreate') return { type: 'Recreate' };
  const rollingUpdate = spec.strategy.rollingUpdate ?? { maxSurge: 1, maxUnavailable: 0 };
  return { type: 'RollingUpdate', rollingUpdate: { maxSurge: rollingUpdate.maxSurge, maxUnavailable: rollingUpdate.maxUnavailable } };
}

/**
 * A Deployment reports ProgressDeadlineExceeded after 10 minutes by default, while a large model
 * may legitimately spend 30 in its startup probe: the deadline follows the startup budget so a
 * slow load is not reported as a failed rollout.
 */
export function progressDeadlineSeconds(spec: AIModelSpec): number {
  const startup = effectiveProbes(spec).startup;
  const budget = startup.enabled ? startup.initialDelaySeconds + startup.periodSeconds * startup.failureThreshold : 0;
  // No probe runs while an init container downloads the weights: its time comes on top.
  const download = downloadCommand(spec) === undefined ? 0 : DOWNLOAD_BUDGET_SECONDS;
  return Math.max(MIN_PROGRESS_DEADLINE_SECONDS, budget + download + PROGRESS_DEADLINE_SLACK_SECONDS);
}

/** An hour for the init container's download: 200 GB at 60 MB/s. */
const DOWNLOAD_BUDGET_SECONDS = 3600;

function downloadCommand(spec: AIModelSpec) {
  return enginePreset(spec.engine).download?.(serveContext(spec));
}

/**
 * The user's claim mounted at /models (spec.source pvc:// or spec.storage.existingClaim), which the
 * operator waits for and reports when missing; undefined when the weights live elsewhere.
 */
export function userClaimName(spec: AIModelSpec): string | undefined {
  const source = spec.source === undefined ? undefined : parseSourceUri(spec.source.uri);
  if (source?.scheme === 'pvc') return source.claimName;
  if (source?.scheme === 'oci') return undefined;
  // No source, or an hf:// one that downloads into whatever spec.storage provides.
  return spec.storage.existingClaim?.claimName;
}

function podSpec(model: AIModel, defaults: OperatorDefaults): V1PodSpec {
  const { spec } = model;
  const tolerations = podTolerations(spec, defaults);
  const weights = weightsVolume(model);
  const main = container(spec, defaults, weights);
  const download = downloadContainer(spec, defaults, weights);
  const pod: V1PodSpec = {
    // Model servers do not call the Kubernetes API: the default account's token would only be
    // something to steal. An account the user named was chosen for its identity (object storage,
    // a secrets manager's Kubernetes login), which some clients prove with this token.
    automountServiceAccountToken: spec.serviceAccountName !== undefined,
    // Service environment variables are never needed and grow with the namespace.
    enableServiceLinks: false,
    securityContext: podSecurityContext(spec, defaults),
    ...(download === undefined ? {} : { initContainers: [download] }),
    containers: [main],
    volumes: volumes(spec, weights),
  };
  if (spec.serviceAccountName !== undefined) pod.serviceAccountName = spec.serviceAccountName;
  if (spec.imagePullSecrets !== undefined && spec.imagePullSecrets.length > 0) {
    pod.imagePullSecrets = spec.imagePullSecrets.map(({ name }) => ({ name }));
  }
  if (spec.nodeSelector !== undefined && Object.keys(spec.nodeSelector).length > 0) pod.nodeSelector = { ...spec.nodeSelector };
  if (tolerations.length > 0) pod.tolerations = tolerations;
  const affinity = podAffinity(spec);
  if (affinity !== undefined) pod.affinity = affinity;
  if (spec.priorityClassName !== undefined) pod.priorityClassName = spec.priorityClassName;
  if (spec.runtimeClassName !== undefined) pod.runtimeClassName = spec.runtimeClassName;
  return pod;
}

/**
 * The restricted Pod Security Standard, set explicitly so the pods pass a namespace that enforces
 * it. The ids are the model's (spec.securityContext), else the operator's; platformAssignedIds
 * leaves them all out for platforms that assign them (OpenShift). runAsNonRoot is never optional.
 */
function podSecurityContext(spec: AIModelSpec, defaults: OperatorDefaults): V1PodSecurityContext {
  const context: V1PodSecurityContext = { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } };
  const own = spec.securityContext ?? {};
  if (own.platformAssignedIds === true) return context;
  const runAsUser = own.runAsUser ?? defaults.runAsUser;
  const runAsGroup = own.runAsGroup ?? defaults.runAsGroup;
  const fsGroup = own.fsGroup ?? defaults.fsGroup;
  if (runAsUser !== undefined) context.runAsUser = runAsUser;
  if (runAsGroup !== undefined) context.runAsGroup = runAsGroup;
  if (fsGroup !== undefined) {
    context.fsGroup = fsGroup;
    context.fsGroupChangePolicy = 'OnRootMismatch';
  }
  return context;
}

function containerSecurityContext(defaults: OperatorDefaults): V1SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    readOnlyRootFilesystem: defaults.readOnlyRootFilesystem,
    runAsNonRoot: true,
  };
}

/** Number of nvidia.com/gpu the model container gets (requests are mirrored into limits). */
export function gpuCount(spec: AIModelSpec): number {
  const quantity = spec.resources?.limits?.[GPU_RESOURCE] ?? spec.resources?.requests?.[GPU_RESOURCE];
  return quantity === undefined ? 0 : Math.max(0, Math.floor(quantityValue(quantity) ?? 0));
}

export function serveContext(spec: AIModelSpec): ServeContext {
  const context: ServeContext = { model: spec.model, port: spec.port, gpus: gpuCount(spec) };
  const source = spec.source === undefined ? undefined : parseSourceUri(spec.source.uri);
  if (source !== undefined) context.source = source;
  return context;
}

/** The image of the model container and of its download init container. */
export function modelImage(spec: AIModelSpec, defaults: OperatorDefaults): string {
  if (spec.image !== undefined) return spec.image;
  if (spec.engine === 'openai-compatible') return defaults.defaultImage;
  const preset = enginePreset(spec.engine);
  return defaults.engineImages[spec.engine] ?? (usesGpu(spec) ? preset.gpuImage : undefined) ?? preset.image;
}

/** The probes the container gets: each field the user set, else the engine's. */
export function effectiveProbes(spec: AIModelSpec): Record<'startup' | 'readiness' | 'liveness', ProbeSettings & { enabled: boolean }> {
  const preset = enginePreset(spec.engine).probes;
  const merge = (own: ProbeSpec, engine: ProbeSettings) => ({
    enabled: own.enabled,
    path: own.path ?? engine.path,
    initialDelaySeconds: own.initialDelaySeconds ?? engine.initialDelaySeconds,
    periodSeconds: own.periodSeconds ?? engine.periodSeconds,
    timeoutSeconds: own.timeoutSeconds ?? engine.timeoutSeconds,
    failureThreshold: own.failureThreshold ?? engine.failureThreshold,
  });
  return {
    startup: merge(spec.probes.startup, preset.startup),
    readiness: merge(spec.probes.readiness, preset.readiness),
    liveness: merge(spec.probes.liveness, preset.liveness),
  };
}

/**
 * The annotations many Prometheus set-ups scrape pods by, where no PodMonitor does the job. The
 * user's podAnnotations come after them, so a model can point them elsewhere or turn them off.
 */
function scrapeAnnotations(spec: AIModelSpec, defaults: OperatorDefaults): Record<string, string> {
  const endpoint = metricsEndpoint(spec);
  if (endpoint === undefined || defaults.podMetrics !== 'annotations') return {};
  return { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(spec.port), 'prometheus.io/path': endpoint.path };
}

/** Where Prometheus finds the engine's metrics on the model pods; undefined for engines without any. */
export function metricsEndpoint(spec: AIModelSpec): { port: string; path: string } | undefined {
  const metrics = enginePreset(spec.engine).metrics;
  return metrics === undefined ? undefined : { port: PORT_NAME, path: metrics.path };
}

/** Writable directories every engine gets, so the root filesystem can stay read-only. */
function baseEnv(spec: AIModelSpec): V1EnvVar[] {
  return [
    { name: MODEL_ENV_NAME, value: spec.model },
    { name: 'HOME', value: HOME_DIR },
    { name: 'XDG_CACHE_HOME', value: CACHE_DIR },
    { name: 'HF_HOME', value: HF_HOME_DIR },
  ];
}

/**
 * MODEL and the writable paths, then the engine's variables, then the user's: a user variable
 * with the name of one already there replaces it in place, the others follow in their order.
 */
function mergeEnv(base: V1EnvVar[], user: V1EnvVar[]): V1EnvVar[] {
  const byName = new Map(user.map((variable) => [variable.name, variable]));
  const merged = base.map((variable) => byName.get(variable.name) ?? variable);
  const present = new Set(base.map((variable) => variable.name));
  return [...merged, ...user.filter((variable) => !present.has(variable.name))];
}

function tokenEnv(spec: AIModelSpec): V1EnvVar[] {
  const ref = spec.source?.tokenSecretRef;
  return ref === undefined ? [] : [{ name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } }];
}

/** The weights' volume source and how it is mounted at /models. */
type WeightsVolume = { volume: V1Volume; mount: V1VolumeMount };

function weightsVolume(model: AIModel): WeightsVolume {
  const { storage } = model.spec;
  const source = model.spec.source === undefined ? undefined : parseSourceUri(model.spec.source.uri);
  const volume: V1Volume = { name: MODELS_VOLUME };
  const mount: V1VolumeMount = { name: MODELS_VOLUME, mountPath: MODEL_MOUNT_PATH };
  if (source?.scheme === 'pvc') {
    volume.persistentVolumeClaim = { claimName: source.claimName };
    if (source.subPath !== undefined) mount.subPath = source.subPath;
  } else if (source?.scheme === 'oci') {
    volume.image = { reference: source.reference };
    if (model.spec.source?.pullPolicy !== undefined) volume.image.pullPolicy = model.spec.source.pullPolicy;
    // Image volumes are read-only whatever the mount says; saying so keeps the pod spec honest.
    mount.readOnly = true;
  } else if (storage.existingClaim !== undefined) {
    volume.persistentVolumeClaim = { claimName: storage.existingClaim.claimName };
  } else if (storage.volumeClaim !== undefined) {
    volume.persistentVolumeClaim = { claimName: childName(model, 'PersistentVolumeClaim') };
  } else {
    const emptyDir = storage.emptyDir ?? {};
    // `emptyDir: {}` is the volume source itself, not an unset field: it must be sent even when empty.
    volume.emptyDir = {};
    if (emptyDir.sizeLimit !== undefined) volume.emptyDir.sizeLimit = String(emptyDir.sizeLimit);
    if (emptyDir.medium !== undefined) volume.emptyDir.medium = emptyDir.medium;
  }
  return { volume, mount };
}

/** GPU models share tensors between their processes through /dev/shm; 64 MiB, the default, is not enough. */
const SHM_GI_PER_GPU = 2;
const SHM_MAX_GI = 16;

export function sharedMemorySize(spec: AIModelSpec): string | undefined {
  if (spec.sharedMemorySize !== undefined) {
    return (quantityValue(spec.sharedMemorySize) ?? 0) > 0 ? String(spec.sharedMemorySize) : undefined;
  }
  const gpus = gpuCount(spec);
  return gpus > 0 ? `${Math.min(SHM_MAX_GI, SHM_GI_PER_GPU * gpus)}Gi` : undefined;
}

function scratchMounts(spec: AIModelSpec): V1VolumeMount[] {
  return [
    { name: HOME_VOLUME, mountPath: HOME_DIR },
    { name: TMP_VOLUME, mountPath: TMP_DIR },
    ...(sharedMemorySize(spec) === undefined ? [] : [{ name: SHM_VOLUME, mountPath: SHM_DIR }]),
  ];
}

function volumes(spec: AIModelSpec, weights: WeightsVolume): V1Volume[] {
  const shm = sharedMemorySize(spec);
  return [
    weights.volume,
    { name: HOME_VOLUME, emptyDir: {} },
    { name: TMP_VOLUME, emptyDir: {} },
    ...(shm === undefined ? [] : [{ name: SHM_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: shm } }]),
  ];
}

function container(spec: AIModelSpec, defaults: OperatorDefaults, weights: WeightsVolume): V1Container {
  const preset = enginePreset(spec.engine);
  const context = serveContext(spec);
  const serve = preset.serve(context);
  // The token goes where the download happens: the init container, or the engine that fetches at start.
  const engineDownloads = context.source?.scheme === 'hf' && preset.download?.(context) === undefined;
  const result: V1Container = {
    name: MODEL_CONTAINER_NAME,
    image: modelImage(spec, defaults),
    ports: [{ name: PORT_NAME, containerPort: spec.port, protocol: 'TCP' }],
    env: mergeEnv([...baseEnv(spec), ...serve.env, ...(engineDownloads ? tokenEnv(spec) : [])], (spec.env ?? []).map(envVar)),
    volumeMounts: [weights.mount, ...scratchMounts(spec)],
    securityContext: containerSecurityContext(defaults),
  };
  if (spec.imagePullPolicy !== undefined) result.imagePullPolicy = spec.imagePullPolicy;
  // spec.command takes over the whole command line: the preset's arguments belong to its command.
  const command = spec.command ?? serve.command;
  const args = spec.command !== undefined ? [...(spec.args ?? [])] : [...serve.args, ...(spec.args ?? [])];
  if (command !== undefined) result.command = [...command];
  if (args.length > 0) result.args = args;
  const resources = resourceRequirements(spec);
  if (resources !== undefined) result.resources = resources;
  const { startup, readiness, liveness } = effectiveProbes(spec);
  if (startup.enabled) result.startupProbe = httpProbe(startup);
  if (readiness.enabled) result.readinessProbe = { ...httpProbe(readiness), successThreshold: spec.probes.readiness.successThreshold };
  if (liveness.enabled) result.livenessProbe = httpProbe(liveness);
  return result;
}

export const DOWNLOAD_CONTAINER_NAME = 'model-download';

/**
 * The init container that fills /models before the engine starts, with the engine image's own
 * downloader; absent when the source is mounted as is or the engine downloads at start. It shares
 * the user's env (a hub mirror, a proxy) and the CPU and memory of the model container.
 */
function downloadContainer(spec: AIModelSpec, defaults: OperatorDefaults, weights: WeightsVolume): V1Container | undefined {
  const download = downloadCommand(spec);
  if (download === undefined) return undefined;
  const result: V1Container = {
    name: DOWNLOAD_CONTAINER_NAME,
    image: modelImage(spec, defaults),
    ...(download.command === undefined ? {} : { command: [...download.command] }),
    ...(download.args.length > 0 ? { args: [...download.args] } : {}),
    env: mergeEnv([...baseEnv(spec), ...download.env, ...tokenEnv(spec)], (spec.env ?? []).map(envVar)),
    volumeMounts: [weights.mount, ...scratchMounts(spec)],
    securityContext: containerSecurityContext(defaults),
  };
  if (spec.imagePullPolicy !== undefined) result.imagePullPolicy = spec.imagePullPolicy;
  const resources = resourceRequirements(spec, { standardOnly: true });
  if (resources !== undefined) result.resources = resources;
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
function resourceRequirements(spec: AIModelSpec, options: { standardOnly?: boolean } = {}): V1ResourceRequirements | undefined {
  // An init container must not hold a GPU of its own: the pod would need one more than the model.
  const keep = (entries: Record<string, number | string> | undefined) =>
    entries === undefined || !options.standardOnly
      ? entries
      : Object.fromEntries(Object.entries(entries).filter(([name]) => !isExtendedResource(name)));
  const requests = keep(spec.resources?.requests);
  const limits = { ...keep(spec.resources?.limits) };
  for (const [name, quantity] of Object.entries(requests ?? {})) {
    if (isExtendedResource(name) && limits[name] === undefined) limits[name] = quantity;
  }
  const result: V1ResourceRequirements = {};
  if (requests !== undefined && Object.keys(requests).length > 0) result.requests = quantityMap(requests);
  if (Object.keys(limits).length > 0) result.limits = quantityMap(limits);
  return Object.keys(result).length > 0 ? result : undefined;
}

type ProbeSpec = AIModelSpec['probes']['startup'];

function httpProbe(probe: ProbeSettings): V1Probe {
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
