// Replica counts as a watch sees them while a change happens: every value from the current one
// on, so a test can show a count never passed a bound on its way (a poll would miss a brief
// excursion).
import { expect } from 'vitest';
import type { KubeClient } from '../../src/kube/client.ts';
import { Deployments, ReplicaSets } from '../../src/kube/resources.ts';
import type { ResourceType } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';

export type Conditioned = KubeObject & { status?: { conditions?: { type: string; status: string; reason?: string }[] } };

/** True when the object has the condition with status True (and this reason, if given). */
export function hasCondition(obj: KubeObject | undefined, type: string, reason?: string): boolean {
  return (obj as Conditioned | undefined)?.status?.conditions?.some((c) => c.type === type && c.status === 'True' && (reason === undefined || c.reason === reason)) ?? false;
}

type Scaled = KubeObject & { spec?: { replicas?: number }; status?: { availableReplicas?: number } };

export interface ReplicaHistory {
  /**
   * Stops recording and returns the values in order. With last, first waits (up to timeoutMs)
   * until the watch has delivered that value: another client may have seen it a moment earlier.
   */
  stop(last?: number, timeoutMs?: number): Promise<number[]>;
}

/** Records a number the watched objects carry, each time it changes, until stop(). */
async function recordChanges(
  client: KubeClient,
  type: ResourceType,
  options: { namespace: string; labelSelector?: string; fieldSelector?: string },
  pick: (obj: Scaled) => number,
): Promise<ReplicaHistory> {
  const seen: number[] = [];
  const abort = new AbortController();
  let changed: () => void = () => {};
  const record = (obj: Scaled) => {
    const value = pick(obj);
    if (seen.at(-1) !== value) seen.push(value);
    changed();
  };
  // The current values are there before the caller changes anything.
  let list = await client.list<Scaled>(type, options);
  list.items.forEach(record);
  let failure: unknown;
  // Relists and watches again when the API server ends a watch, so no change goes unseen for long.
  const watching = (async () => {
    while (!abort.signal.aborted) {
      try {
        await client.watch<Scaled>(type, { ...options, resourceVersion: list.metadata?.resourceVersion ?? '', timeoutSeconds: 300, signal: abort.signal }, (e) => {
          if (e.type === 'ADDED' || e.type === 'MODIFIED') record(e.object);
        });
        if (abort.signal.aborted) return;
        list = await client.list<Scaled>(type, { ...options, signal: abort.signal });
        list.items.forEach(record);
      } catch (err) {
        if (!abort.signal.aborted) failure = err;
        return;
      }
    }
  })();
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

/** spec.replicas of one Deployment: what a scaler (an HPA, KEDA) gives it. */
export const watchDeploymentReplicas = (client: KubeClient, namespace: string, name: string): Promise<ReplicaHistory> =>
  recordChanges(client, Deployments, { namespace, fieldSelector: `metadata.name=${name}` }, (d) => d.spec?.replicas ?? 1);

/** status.availableReplicas of one Deployment: the pods that serve. */
export const watchAvailableReplicas = (client: KubeClient, namespace: string, name: string): Promise<ReplicaHistory> =>
  recordChanges(client, Deployments, { namespace, fieldSelector: `metadata.name=${name}` }, (d) => d.status?.availableReplicas ?? 0);

/** spec.replicas of every ReplicaSet of one model, as each changes. */
export const watchReplicaSetReplicas = (client: KubeClient, namespace: string, instance: string): Promise<ReplicaHistory> =>
  recordChanges(client, ReplicaSets, { namespace, labelSelector: `app.kubernetes.io/instance=${instance}` }, (rs) => rs.spec?.replicas ?? 0);

/** The counts went up to max and came back down to min, never past either bound. */
export function expectUpToAndBack(seen: number[], bounds: { min: number; max: number }): void {
  expect(seen).toContain(bounds.max);
  expect(Math.max(...seen)).toBe(bounds.max);
  expect(Math.min(...seen)).toBe(bounds.min);
  expect(seen.at(-1)).toBe(bounds.min);
}
