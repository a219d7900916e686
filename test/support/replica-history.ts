// The replica counts a scaler (an HPA, KEDA) gives a Deployment, as a watch sees them: every
// value of spec.replicas from the current one on, so a test can show a count never passed a bound
// on its way (a poll would miss a brief excursion).
import type { KubeClient } from '../../src/kube/client.ts';
import { Deployments } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';

export type Conditioned = KubeObject & { status?: { conditions?: { type: string; status: string; reason?: string }[] } };

/** True when the object has the condition with status True (and this reason, if given). */
export function hasCondition(obj: KubeObject | undefined, type: string, reason?: string): boolean {
  return (obj as Conditioned | undefined)?.status?.conditions?.some((c) => c.type === type && c.status === 'True' && (reason === undefined || c.reason === reason)) ?? false;
}

type Scaled = KubeObject & { spec?: { replicas?: number } };

export interface ReplicaHistory {
  /**
   * Stops recording and returns the values in order. With last, first waits (up to timeoutMs)
   * until the watch has delivered that value: another client may have seen it a moment earlier.
   */
  stop(last?: number, timeoutMs?: number): Promise<number[]>;
}

/** Records spec.replicas of one Deployment until stop(). */
export async function watchDeploymentReplicas(client: KubeClient, namespace: string, name: string): Promise<ReplicaHistory> {
  const seen: number[] = [];
  const abort = new AbortController();
  const options = { namespace, fieldSelector: `metadata.name=${name}` };
  let changed: () => void = () => {};
  const record = (d: Scaled) => {
    const replicas = d.spec?.replicas ?? 1;
    if (seen.at(-1) !== replicas) seen.push(replicas);
    changed();
  };
  let failure: unknown;
  // Relists and watches again when the API server ends a watch, so no change goes unseen for long.
  const watching = (async () => {
    while (!abort.signal.aborted) {
      try {
        const list = await client.list<Scaled>(Deployments, { ...options, signal: abort.signal });
        list.items.forEach(record);
        await client.watch<Scaled>(Deployments, { ...options, resourceVersion: list.metadata?.resourceVersion ?? '', timeoutSeconds: 300, signal: abort.signal }, (e) => {
          if (e.type === 'ADDED' || e.type === 'MODIFIED') record(e.object);
        });
      } catch (err) {
        if (!abort.signal.aborted) failure = err;
        return;
      }
    }
  })();
  // The first value is there before the caller changes anything.
  const first = await client.get<Scaled>(Deployments, namespace, name);
  if (seen.length === 0) record(first);
  return {
    async stop(last?: number, timeoutMs = 30_000) {
      if (last !== undefined && seen.at(-1) !== last) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeoutMs);
          changed = () => {
            if (seen.at(-1) === last) {
              clearTimeout(timer);
              resolve();
            }
          };
        });
      }
      abort.abort();
      await watching;
      if (failure) throw failure;
      return seen;
    },
  };
}
