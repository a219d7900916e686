// The status an AIModel should report, as a pure function of what the cluster shows: the
// Deployment's rollout, the HPA's decision and the pods' troubles. Conditions follow the
// metav1.Condition conventions: a condition's lastTransitionTime changes only when its status does.
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
  selector?: string;
  endpoint?: string;
}

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
  spec?: { minReplicas?: number; maxReplicas?: number };
  status?: {
    desiredReplicas?: number;
    currentReplicas?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export interface StatusInputs {
  generation: number;
  suspended: boolean;
  autoscaling: boolean;
  /** spec.replicas: what the model wants without autoscaling. */
  specReplicas: number;
  selector: string;
  endpoint: string;
  /** Problems found in the spec itself (objects that bypassed the schema). */
  invalid?: { field: string; message: string }[];
  /** A child the API server refused, e.g. a PVC that does not exist or a rejected field. */
  childError?: { reason: string; message: string };
  deployment?: DeploymentView;
  hpa?: HpaView;
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
  const desired = input.suspended ? 0 : input.autoscaling ? (hpaDesired || d?.spec?.replicas || 0) : input.specReplicas;
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

  let autoscaling = condition('AutoscalingActive', 'False', 'AutoscalingDisabled', 'spec.autoscaling is not set');
  if (input.suspended && input.autoscaling) autoscaling = condition('AutoscalingActive', 'False', 'Suspended', 'autoscaling is paused while the model is suspended');
  else if (input.autoscaling) {
    const active = input.hpa?.status?.conditions?.find((c) => c.type === 'ScalingActive');
    const limited = input.hpa?.status?.conditions?.find((c) => c.type === 'ScalingLimited');
    if (!input.hpa?.status?.conditions) autoscaling = condition('AutoscalingActive', 'Unknown', 'WaitingForHPA', 'the HorizontalPodAutoscaler has not reported yet');
    else if (active?.status === 'True') {
      const bounds = `between ${input.hpa.spec?.minReplicas ?? 1} and ${input.hpa.spec?.maxReplicas} replicas`;
      const note = limited?.status === 'True' ? `; ${limited.message ?? 'limited by its bounds'}` : '';
      autoscaling = condition('AutoscalingActive', 'True', limited?.status === 'True' ? (limited.reason ?? 'ScalingLimited') : 'ScalingActive', `scaling ${bounds}, desired ${hpaDesired ?? desired}${note}`);
    } else {
      autoscaling = condition('AutoscalingActive', 'False', active?.reason ?? 'ScalingInactive', active?.message ?? 'the HorizontalPodAutoscaler cannot scale');
    }
  }

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
    conditions: stamp([ready, available, progressing, degraded, autoscaling], input.generation, input.previous?.conditions, input.now),
  };
}
