// Drives the local cluster's simulated load: kwok reports each pod's CPU, memory and engine gauges
// from the pod's annotations (hack/localcluster/metrics.ts). A SimulatedLoad keeps every pod of a
// selector annotated with the current load, including the pods a scale-up adds, as real traffic
// would reach new replicas too; set() changes the load, and pods are re-annotated at once.
import type { KubeClient } from '../../src/kube/client.ts';
import { Pods } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { gaugeAnnotation, USAGE_CPU_ANNOTATION, USAGE_MEMORY_ANNOTATION } from '../../hack/localcluster/metrics.ts';

export interface Load {
  /** CPU each container uses, a quantity ("250m"). */
  cpu?: string;
  /** Memory each container uses, a quantity ("64Mi"). */
  memory?: string;
  /** Engine gauges by name ("vllm:num_requests_waiting": 7). */
  gauges?: Record<string, number>;
}

/** The pod annotations that make kwok report this load. */
export function loadAnnotations(load: Load): Record<string, string> {
  const annotations: Record<string, string> = {};
  if (load.cpu !== undefined) annotations[USAGE_CPU_ANNOTATION] = load.cpu;
  if (load.memory !== undefined) annotations[USAGE_MEMORY_ANNOTATION] = load.memory;
  for (const [gauge, value] of Object.entries(load.gauges ?? {})) annotations[gaugeAnnotation(gauge)] = String(value);
  return annotations;
}

/** Sets one pod's load (a merge patch of its annotations). */
export async function setPodLoad(client: KubeClient, namespace: string, pod: string, load: Load): Promise<void> {
  await client.patch(Pods, namespace, pod, { metadata: { annotations: loadAnnotations(load) } }, { kind: 'merge' });
}

type Pod = KubeObject & { metadata: { annotations?: Record<string, string> }; status?: { phase?: string } };

export class SimulatedLoad {
  private load: Record<string, string>;
  private readonly abort = new AbortController();
  private readonly running: Promise<void>;
  private wake: () => void = () => {};
  private failure: unknown;

  private readonly client: KubeClient;
  private readonly namespace: string;
  private readonly labelSelector: string;

  private constructor(client: KubeClient, namespace: string, labelSelector: string, load: Load) {
    this.client = client;
    this.namespace = namespace;
    this.labelSelector = labelSelector;
    this.load = loadAnnotations(load);
    this.running = this.loop();
  }

  /** Starts keeping the pods of namespace/labelSelector at this load. */
  static start(client: KubeClient, namespace: string, labelSelector: string, load: Load): SimulatedLoad {
    return new SimulatedLoad(client, namespace, labelSelector, load);
  }

  /** Changes the load of every pod, current and future. */
  set(load: Load): void {
    this.load = { ...this.load, ...loadAnnotations(load) };
    this.wake();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.wake();
    await this.running;
    if (this.failure) throw this.failure;
  }

  private needsLoad(pod: Pod): boolean {
    if (pod.metadata.deletionTimestamp) return false;
    return Object.entries(this.load).some(([k, v]) => pod.metadata.annotations?.[k] !== v);
  }

  private async annotate(pod: Pod): Promise<void> {
    try {
      await this.client.patch(Pods, this.namespace, pod.metadata.name, { metadata: { annotations: this.load } }, { kind: 'merge', signal: this.abort.signal });
    } catch (err) {
      // A pod deleted by a scale-down meanwhile needs no load.
      if ((err as { status?: number }).status !== 404 && !this.abort.signal.aborted) throw err;
    }
  }

  // List, annotate what lags behind, then watch until a pod appears or changes or the load does.
  // An error (the API server restarting, a conflict) starts the round again; the last one is
  // rethrown by stop().
  private async loop(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        await this.round();
      } catch (err) {
        if (this.abort.signal.aborted) return;
        this.failure = err;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  private async round(): Promise<void> {
    const list = await this.client.list<Pod>(Pods, { namespace: this.namespace, labelSelector: this.labelSelector, signal: this.abort.signal });
    await Promise.all(list.items.filter((p) => this.needsLoad(p)).map((p) => this.annotate(p)));
    const round = new AbortController();
    const stopRound = () => round.abort();
    this.abort.signal.addEventListener('abort', stopRound, { once: true });
    this.wake = stopRound;
    const pending: Promise<void>[] = [];
    try {
      await this.client
        .watch<Pod>(
          Pods,
          { namespace: this.namespace, labelSelector: this.labelSelector, resourceVersion: list.metadata?.resourceVersion ?? '', timeoutSeconds: 60, signal: round.signal },
          (event) => {
            if ((event.type === 'ADDED' || event.type === 'MODIFIED') && this.needsLoad(event.object)) pending.push(this.annotate(event.object));
          },
        )
        .catch((err: unknown) => {
          if (!round.signal.aborted) throw err;
        });
    } finally {
      this.abort.signal.removeEventListener('abort', stopRound);
      await Promise.all(pending);
    }
    this.failure = undefined;
  }
}
