// The status an AIModel should report, as a pure function of what the cluster shows: the
// Deployment's rollout, the HPA's decision and the pods' troubles. Conditions follow the
// metav1.Condition conventions: a condition's lastTransitionTime changes only when its status does.
import { quantityValue } from '../../api/v1/formats.ts';
import type { AutoscalingSignal } from '../../api/v1/autoscaling.ts';
import { downloadingPod, rootCause } from './rootcause.ts';
import type { PodJson } from './rootcause.ts';

export type ConditionStatus = 'True' | 'False' | 'Unknown';
export type ConditionType = 'Ready' | 'Available' | 'Progressing' | 'Degraded' | 'AutoscalingActive';
export const conditionTypes: readonly ConditionType[] = ['Ready', 'Available', 'Progressing', 'Degraded', 'AutoscalingActive'];

export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export type Phase = 'Pending' | 'Progressing' | 'Ready' | 'Degraded' | 'Suspended' | 'Failed';

export interface ModelStatus {
  observedGeneration?: number;
  phase?: Phase;
  conditions?: Condition[];
  replicas?: number;
  readyReplicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
  desiredReplicas?: number;
  autoscaling?: AutoscalingStatus;
  selector?: string;
  endpoint?: string;
}

export interface AutoscalingStatus {
  autoscaler?: string;
  signal?: AutoscalingSignal;
  target?: number;
  current?: number;
}

type ConditionView = { type: string; status: string; reason?: string; message?: string };

interface DeploymentView {
  metadata: { generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    unavailableReplicas?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

interface HpaView {
  metadata?: { name?: string };
  spec?: { minReplicas?: number; maxReplicas?: number };
  status?: {
    desiredReplicas?: number;
    currentReplicas?: number;
    currentMetrics?: MetricStatusView[];
    conditions?: ConditionView[];
  };
}

type MetricValueView = { averageUtilization?: number; averageValue?: string | number; value?: string | number };
type MetricStatusView = {
  type?: string;
  resource?: { name?: string; current?: MetricValueView };
  external?: { metric?: { name?: string }; current?: MetricValueView };
};

interface ScaledObjectView {
  spec?: { minReplicaCount?: number; maxReplicaCount?: number };
  status?: { conditions?: ConditionView[] };
}

/** The autoscaler the model's spec asks for in this cluster; see desired/autoscaling.ts. */
export type AutoscalerInput =
  | {
      kind: 'HorizontalPodAutoscaler';
      name: string;
      hpaName?: string;
      signal?: AutoscalingSignal;
      target?: number;
      /** CPU (cores) a CPU target is a percentage of, when the HPA measures an AverageValue of it (the pods request none). */
      cpuBaseCores?: number;
    }
  | { kind: 'ScaledObject'; name: string; hpaName?: string; signal: AutoscalingSignal; target: number; wakesOn?: string }
  | { kind: 'Unavailable'; name: string; signal: AutoscalingSignal; target: number; reason: string; message: string };

export interface StatusInputs {
  generation: number;
  suspended: boolean;
  autoscaling: boolean;
  /** What the operator sets the Deployment to when no autoscaler does: spec.replicas (or, for an autoscaler that cannot run, its fallback count). */
  specReplicas: number;
  selector: string;
  endpoint: string;
  /** Problems found in the spec itself (objects that bypassed the schema). */
  invalid?: { field: string; message: string }[];
  /** A child the API server refused, e.g. a PVC that does not exist or a rejected field. */
  childError?: { reason: string; message: string };
  /** Absent when autoscaling is off or suspended. */
  autoscaler?: AutoscalerInput;
  deployment?: DeploymentView;
  /** The HPA that decides the count: the operator's own, or the one KEDA made for the ScaledObject. */
  hpa?: HpaView;
  scaledObject?: ScaledObjectView;
  pods: readonly PodJson[];
  previous?: ModelStatus;
  now: string;
}

function condition(type: ConditionType, status: ConditionStatus, reason: string, message: string): Omit<Condition, 'lastTransitionTime'> {
  return { type, status, reason, message };
}

/** Keeps lastTransitionTime of conditions whose status did not change. */
function stamp(conditions: Omit<Condition, 'lastTransitionTime'>[], generation: number, previous: Condition[] | undefined, now: string): Condition[] {
  return conditions.map((c) => {
    const before = previous?.find((p) => p.type === c.type);
    const lastTransitionTime = before && before.status === c.status ? before.lastTransitionTime : now;
    return { ...c, observedGeneration: generation, lastTransitionTime };
  });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function computeStatus(input: StatusInputs): ModelStatus {
  const base: ModelStatus = { observedGeneration: input.generation, selector: input.selector, endpoint: input.endpoint };

  if (input.invalid && input.invalid.length > 0) {
    const message = input.invalid.map((p) => `${p.field}: ${p.message}`).join('; ');
    const conditions = [
      condition('Ready', 'False', 'InvalidSpec', message),
      condition('Available', 'Unknown', 'InvalidSpec', 'the spec is invalid; nothing was changed'),
      condition('Progressing', 'False', 'InvalidSpec', 'the spec is invalid; nothing was changed'),
      condition('Degraded', 'True', 'InvalidSpec', message),
      condition('AutoscalingActive', 'Unknown', 'InvalidSpec', 'the spec is invalid; nothing was changed'),
    ];
    return { ...input.previous, ...base, phase: 'Failed', conditions: stamp(conditions, input.generation, input.previous?.conditions, input.now) };
  }

  const d = input.deployment;
  const ds = d?.status ?? {};
  const hpaDesired = input.hpa?.status?.desiredReplicas;
  const autoscaled = input.autoscaling && input.autoscaler?.kind !== 'Unavailable';
  // KEDA, not its HPA, takes a model to zero; the HPA then stops and keeps its last decision.
  const kedaAtZero = input.autoscaler?.kind === 'ScaledObject' && d?.spec?.replicas === 0;
  const desired = input.suspended || kedaAtZero ? 0 : autoscaled ? (hpaDesired || d?.spec?.replicas || 0) : input.specReplicas;
  const counts = {
    replicas: ds.replicas ?? 0,
    readyReplicas: ds.readyReplicas ?? 0,
    updatedReplicas: ds.updatedReplicas ?? 0,
    availableReplicas: ds.availableReplicas ?? 0,
    desiredReplicas: desired,
  };
  const deploymentCondition = (type: string) => ds.conditions?.find((c) => c.type === type);
  const observedCurrent = d !== undefined && (ds.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
  const rolledOut =
    observedCurrent && counts.updatedReplicas >= desired && counts.replicas === counts.updatedReplicas && counts.availableReplicas >= desired;
  const deadlineExceeded = deploymentCondition('Progressing')?.reason === 'ProgressDeadlineExceeded';
  const cause = rootCause(input.pods);
  const downloading = downloadingPod(input.pods);
  const fullyReady = d !== undefined && rolledOut && counts.readyReplicas >= desired;

  // Degraded: something a person must look at.
  let degraded = condition('Degraded', 'False', 'AsExpected', 'no problem found');
  const replicaFailure = deploymentCondition('ReplicaFailure');
  if (input.childError) degraded = condition('Degraded', 'True', input.childError.reason, input.childError.message);
  else if (replicaFailure?.status === 'True' && !fullyReady) {
    // No pod exists to read a cause from: admission refused it (quota, a missing PriorityClass...).
    degraded = condition('Degraded', 'True', 'PodCreateFailed', `pods cannot be created: ${replicaFailure.message ?? replicaFailure.reason ?? 'unknown reason'}`);
  } else if (cause && !fullyReady) degraded = condition('Degraded', 'True', cause.reason, cause.message);
  else if (deadlineExceeded) degraded = condition('Degraded', 'True', 'ProgressDeadlineExceeded', deploymentCondition('Progressing')?.message ?? 'the rollout made no progress');

  const available = input.suspended
    ? condition('Available', 'False', 'Suspended', 'the model is suspended: 0 replicas')
    : deploymentCondition('Available')?.status === 'True' && counts.availableReplicas > 0
      ? condition('Available', 'True', 'MinimumReplicasAvailable', `${plural(counts.availableReplicas, 'replica')} available`)
      : condition('Available', 'False', cause?.reason ?? 'MinimumReplicasUnavailable', cause?.message ?? `${plural(counts.availableReplicas, 'replica')} available, waiting for pods`);

  const progressing = rolledOut
    ? condition('Progressing', 'False', 'RolloutComplete', `${plural(counts.updatedReplicas, 'replica')} up to date`)
    : deadlineExceeded
      ? condition('Progressing', 'False', 'ProgressDeadlineExceeded', deploymentCondition('Progressing')?.message ?? 'the rollout made no progress')
      : condition('Progressing', 'True', d ? 'RollingOut' : 'Creating', d ? `${counts.updatedReplicas} of ${plural(desired, 'replica')} updated, ${counts.availableReplicas} available` : 'creating the Deployment');

  const autoscaling = autoscalingCondition(input, desired);
  const autoscalingStatus = input.suspended ? undefined : autoscalingView(input);

  let ready: Omit<Condition, 'lastTransitionTime'>;
  let phase: Phase;
  if (input.suspended) {
    ready = condition('Ready', 'False', 'Suspended', 'spec.suspend is true: scaled to 0 replicas, objects kept');
    phase = 'Suspended';
  } else if (desired === 0 && d !== undefined && !input.childError) {
    ready = condition('Ready', 'False', 'ScaledToZero', 'the model runs 0 replicas and serves no requests');
    phase = 'Pending';
  } else if (fullyReady && !input.childError) {
    ready = condition('Ready', 'True', 'ModelReady', `${counts.readyReplicas} of ${plural(desired, 'replica')} ready at ${input.endpoint}`);
    phase = 'Ready';
  } else if (degraded.status === 'True') {
    ready = condition('Ready', 'False', degraded.reason, degraded.message);
    phase = 'Degraded';
  } else if (d === undefined) {
    ready = condition('Ready', 'False', 'Creating', 'creating the Deployment');
    phase = 'Pending';
  } else if (!rolledOut && counts.readyReplicas >= desired) {
    // Enough pods serve, but of an older spec: ready only once the rollout of this one is done.
    ready = condition('Ready', 'False', 'RollingOut', observedCurrent ? `rolling out: ${counts.updatedReplicas} of ${plural(desired, 'replica')} updated` : 'rolling out: the Deployment controller has not yet seen the new spec');
    phase = 'Progressing';
  } else if (downloading !== undefined) {
    ready = condition('Ready', 'False', 'DownloadingWeights', `pod ${downloading} is downloading the weights; ${counts.readyReplicas} of ${plural(desired, 'replica')} ready`);
    phase = 'Progressing';
  } else {
    ready = condition('Ready', 'False', 'WaitingForReplicas', `${counts.readyReplicas} of ${plural(desired, 'replica')} ready`);
    phase = counts.replicas === 0 && counts.readyReplicas === 0 ? 'Pending' : 'Progressing';
  }

  return {
    ...base,
    phase,
    ...counts,
    ...(autoscalingStatus ? { autoscaling: autoscalingStatus } : {}),
    conditions: stamp([ready, available, progressing, degraded, autoscaling], input.generation, input.previous?.conditions, input.now),
  };
}

/** AutoscalingActive mirrors what the autoscaler itself says: the HPA's conditions, or KEDA's. */
function autoscalingCondition(input: StatusInputs, desired: number): Omit<Condition, 'lastTransitionTime'> {
  const scaler = input.autoscaler;
  if (!input.autoscaling) return condition('AutoscalingActive', 'False', 'AutoscalingDisabled', 'spec.autoscaling is not set');
  if (input.suspended) return condition('AutoscalingActive', 'False', 'Suspended', 'autoscaling is paused while the model is suspended');
  if (scaler?.kind === 'Unavailable') return condition('AutoscalingActive', 'False', scaler.reason, scaler.message);
  const hpa = input.hpa;
  const hpaCondition = (type: string) => hpa?.status?.conditions?.find((c) => c.type === type);
  const active = hpaCondition('ScalingActive');
  const limited = hpaCondition('ScalingLimited');
  const hpaName = hpa?.metadata?.name ?? scaler?.hpaName ?? 'the HorizontalPodAutoscaler';
  if (scaler?.kind === 'ScaledObject') {
    const so = input.scaledObject;
    if (so === undefined) return condition('AutoscalingActive', 'Unknown', 'WaitingForScaledObject', `making ScaledObject ${scaler.name}`);
    const soCondition = (type: string) => so.status?.conditions?.find((c) => c.type === type);
    const ready = soCondition('Ready');
    if (ready === undefined || ready.status === 'Unknown') {
      return condition('AutoscalingActive', 'Unknown', 'WaitingForKEDA', `KEDA has not reported on ScaledObject ${scaler.name} yet (is the KEDA operator running?)`);
    }
    if (ready.status !== 'True') {
      return condition('AutoscalingActive', 'False', ready.reason || 'ScaledObjectNotReady', `ScaledObject ${scaler.name}: ${ready.message || 'not ready'}`);
    }
    const fallback = soCondition('Fallback');
    if (fallback?.status === 'True') {
      return condition('AutoscalingActive', 'False', fallback.reason || 'FallbackActive', `ScaledObject ${scaler.name}: ${fallback.message || 'KEDA cannot read the signal and uses its fallback'}`);
    }
    // At zero replicas KEDA's HPA says ScalingDisabled: KEDA itself decides, which is working as meant.
    if (active?.status === 'False' && active.reason !== 'ScalingDisabled') {
      return condition('AutoscalingActive', 'False', active.reason ?? 'ScalingInactive', `${hpaName}: ${active.message ?? 'cannot scale'}`);
    }
    const bounds = `between ${so.spec?.minReplicaCount ?? 0} and ${so.spec?.maxReplicaCount ?? '?'} replicas`;
    const triggered = soCondition('Active');
    if (triggered?.status !== 'True') {
      const wakes = scaler.wakesOn !== undefined && desired === 0 ? `; it wakes when sum(${scaler.wakesOn}) is above 0` : '';
      return condition('AutoscalingActive', 'True', 'Idle', `ScaledObject ${scaler.name} scales ${bounds} on ${scaler.signal}; the signal is at its idle value, desired ${desired}${wakes}`);
    }
    const note = limited?.status === 'True' ? `; ${limited.message ?? 'limited by its bounds'}` : '';
    return condition('AutoscalingActive', 'True', limited?.status === 'True' ? (limited.reason ?? 'ScalingLimited') : 'ScalingActive', `ScaledObject ${scaler.name} scales ${bounds} on ${scaler.signal}, desired ${desired}${note}`);
  }
  if (!hpa?.status?.conditions) return condition('AutoscalingActive', 'Unknown', 'WaitingForHPA', 'the HorizontalPodAutoscaler has not reported yet');
  if (active?.status === 'True') {
    const bounds = `between ${hpa.spec?.minReplicas ?? 1} and ${hpa.spec?.maxReplicas} replicas`;
    const note = limited?.status === 'True' ? `; ${limited.message ?? 'limited by its bounds'}` : '';
    return condition('AutoscalingActive', 'True', limited?.status === 'True' ? (limited.reason ?? 'ScalingLimited') : 'ScalingActive', `scaling ${bounds}, desired ${hpa.status.desiredReplicas ?? desired}${note}`);
  }
  return condition('AutoscalingActive', 'False', active?.reason ?? 'ScalingInactive', active?.message ?? 'the HorizontalPodAutoscaler cannot scale');
}

/** The signal's current value per replica, as the deciding HPA last measured it, against its target. */
function autoscalingView(input: StatusInputs): AutoscalingStatus | undefined {
  const scaler = input.autoscaler;
  if (!input.autoscaling || scaler === undefined) return undefined;
  const view: AutoscalingStatus = {};
  if (scaler.kind === 'HorizontalPodAutoscaler') view.autoscaler = `HorizontalPodAutoscaler ${scaler.name}`;
  if (scaler.kind === 'ScaledObject') view.autoscaler = `ScaledObject ${scaler.name} (HorizontalPodAutoscaler ${scaler.hpaName ?? '?'})`;
  if (scaler.signal !== undefined) view.signal = scaler.signal;
  if (scaler.target !== undefined) view.target = scaler.target;
  const current = currentValue(scaler, input.hpa?.status?.currentMetrics ?? []);
  if (current !== undefined) view.current = current;
  return view;
}

function currentValue(scaler: AutoscalerInput, metrics: readonly MetricStatusView[]): number | undefined {
  if (scaler.kind === 'HorizontalPodAutoscaler' && scaler.signal === 'cpuUtilizationPercent') {
    const cpu = metrics.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu')?.resource?.current;
    if (typeof cpu?.averageUtilization === 'number' && cpu.averageUtilization >= 0) return cpu.averageUtilization;
    const cores = cpu?.averageValue === undefined ? undefined : quantityValue(cpu.averageValue);
    if (cores === undefined || scaler.cpuBaseCores === undefined || !(scaler.cpuBaseCores > 0) || cores < 0) return undefined;
    return Math.round((cores * 100) / scaler.cpuBaseCores);
  }
  if (scaler.kind === 'ScaledObject') {
    // KEDA names the HPA's External metric of trigger i s<i>-<type>; the engine signal is trigger 0
    // (scaleFromZero's, if any, is 1). AverageValue is the total per replica.
    const value = metrics.find((m) => m.type === 'External' && m.external?.metric?.name?.startsWith('s0-'))?.external?.current?.averageValue;
    const number = value === undefined ? undefined : quantityValue(value);
    // Status carries a plain number: round off the milli-units quantities bring.
    return number === undefined || !Number.isFinite(number) || number < 0 ? undefined : Math.round(number * 1000) / 1000;
  }
  return undefined;
}
