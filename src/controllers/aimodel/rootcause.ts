// Why are a model's pods not ready? Reads pod status the way a person would with
// `kubectl describe pod`, and names the most telling cause: the one users act on first.
import { DOWNLOAD_CONTAINER_NAME } from '../../desired/deployment.ts';

export interface RootCause {
  /** A CamelCase reason for conditions and metrics: a bounded set, never free text. */
  reason: RootCauseReason;
  message: string;
  /** How many of the model's pods show this cause. */
  pods: number;
}

export type RootCauseReason =
  | 'InsufficientGPU'
  | 'InsufficientCPU'
  | 'InsufficientMemory'
  | 'Unschedulable'
  | 'ImagePullFailed'
  | 'DownloadFailed'
  | 'CrashLoopBackOff'
  | 'ContainerCreateFailed'
  | 'ProbeFailing'
  | 'Terminated';

// Order of precedence: a scheduling shortage hides everything behind it, then image problems,
// then crashes, then probes.
const precedence: RootCauseReason[] = [
  'InsufficientGPU',
  'InsufficientCPU',
  'InsufficientMemory',
  'Unschedulable',
  'ImagePullFailed',
  'DownloadFailed',
  'ContainerCreateFailed',
  'CrashLoopBackOff',
  'Terminated',
  'ProbeFailing',
];

interface ContainerStateJson {
  waiting?: { reason?: string; message?: string };
  running?: object;
  terminated?: { exitCode: number; reason?: string };
}

interface ContainerStatusJson {
  name: string;
  image?: string;
  ready?: boolean;
  restartCount?: number;
  state?: ContainerStateJson;
  lastState?: ContainerStateJson;
}

/** The parts of a Pod, as the API server sends it, that tell what is wrong with it. */
export interface PodJson {
  metadata?: { name?: string; deletionTimestamp?: string };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: ContainerStatusJson[];
    initContainerStatuses?: ContainerStatusJson[];
  };
}

function schedulingCause(message: string): RootCauseReason {
  if (/Insufficient nvidia\.com\/gpu|Insufficient [a-z0-9.-]+\/gpu/i.test(message)) return 'InsufficientGPU';
  if (/Insufficient cpu/i.test(message)) return 'InsufficientCPU';
  if (/Insufficient memory/i.test(message)) return 'InsufficientMemory';
  return 'Unschedulable';
}

function podCause(pod: PodJson): { reason: RootCauseReason; message: string } | undefined {
  if (pod.metadata?.deletionTimestamp) return undefined;
  const conditions = pod.status?.conditions ?? [];
  const scheduled = conditions.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    const message = scheduled.message ?? 'no node fits the pod';
    return { reason: schedulingCause(message), message: `pod ${pod.metadata?.name} cannot be scheduled: ${message}` };
  }
  const download = pod.status?.initContainerStatuses?.find((s) => s.name === DOWNLOAD_CONTAINER_NAME);
  const failedDownload = download?.state?.terminated ?? (download?.state?.waiting?.reason === 'CrashLoopBackOff' ? download.lastState?.terminated : undefined);
  if (download && failedDownload && failedDownload.exitCode !== 0) {
    const detail = `exit code ${failedDownload.exitCode}${failedDownload.reason ? `, ${failedDownload.reason}` : ''}${download.restartCount ? `, ${download.restartCount} retries` : ''}`;
    return { reason: 'DownloadFailed', message: `pod ${pod.metadata?.name} could not download the weights (container ${DOWNLOAD_CONTAINER_NAME}: ${detail})` };
  }
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const status of statuses) {
    const waiting = status.state?.waiting;
    if (waiting?.reason && /ImagePull|ErrImage|InvalidImageName/.test(waiting.reason)) {
      return { reason: 'ImagePullFailed', message: `container ${status.name} cannot pull image ${status.image}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` };
    }
    if (waiting?.reason && /CreateContainer|RunContainerError/.test(waiting.reason)) {
      return { reason: 'ContainerCreateFailed', message: `container ${status.name} cannot start: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` };
    }
    if (waiting?.reason === 'CrashLoopBackOff') {
      const last = status.lastState?.terminated;
      const detail = last ? ` (last exit code ${last.exitCode}${last.reason ? `, ${last.reason}` : ''})` : '';
      return { reason: 'CrashLoopBackOff', message: `container ${status.name} keeps crashing, restarted ${status.restartCount} times${detail}` };
    }
    const terminated = status.state?.terminated;
    if (terminated && terminated.exitCode !== 0) {
      return { reason: 'Terminated', message: `container ${status.name} exited with code ${terminated.exitCode}${terminated.reason ? ` (${terminated.reason})` : ''}` };
    }
  }
  const running = statuses.length > 0 && statuses.every((s) => s.state?.running);
  const ready = conditions.find((c) => c.type === 'Ready');
  if (running && ready?.status === 'False') {
    const notReady = statuses.filter((s) => !s.ready).map((s) => s.name);
    return { reason: 'ProbeFailing', message: `container ${notReady.join(', ') || 'of the pod'} is running but failing its readiness or startup probe` };
  }
  return undefined;
}

/** The most telling cause across a model's pods, or undefined when none shows a problem. */
export function rootCause(pods: readonly PodJson[]): RootCause | undefined {
  const found = new Map<RootCauseReason, { message: string; pods: number }>();
  // The message names one pod: always the same one for the same pods, whatever order the cache
  // lists them in, so a restarted operator computes the very status it wrote before.
  const byName = [...pods].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  for (const pod of byName) {
    const cause = podCause(pod);
    if (!cause) continue;
    const entry = found.get(cause.reason);
    if (entry) entry.pods += 1;
    else found.set(cause.reason, { message: cause.message, pods: 1 });
  }
  for (const reason of precedence) {
    const entry = found.get(reason);
    if (entry) {
      const others = entry.pods > 1 ? ` (and ${entry.pods - 1} more pod${entry.pods > 2 ? 's' : ''})` : '';
      return { reason, message: `${entry.message}${others}`, pods: entry.pods };
    }
  }
  return undefined;
}

/** A pod still fetching the model's weights: not a problem, but what the model is waiting for. */
export function downloadingPod(pods: readonly PodJson[]): string | undefined {
  const pod = [...pods]
    .filter((p) => !p.metadata?.deletionTimestamp && p.status?.initContainerStatuses?.some((s) => s.name === DOWNLOAD_CONTAINER_NAME && s.state?.running))
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))[0];
  return pod?.metadata?.name;
}
