// Records every replica count the ReplicaSets of one model are given while a change happens, so
// a test can show that a transition never dips below a count (a watch sees what a poll misses).
import type { KubeClient } from '../../src/kube/client.ts';
import { ReplicaSets } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';

type ReplicaSet = KubeObject & { spec: { replicas: number } };

export async function watchReplicaCounts(client: KubeClient, namespace: string, instance: string): Promise<{ stop(): Promise<number[]> }> {
  const labelSelector = `app.kubernetes.io/instance=${instance}`;
  const seen: number[] = [];
  const abort = new AbortController();
  const list = await client.list<ReplicaSet>(ReplicaSets, { namespace, labelSelector });
  const watching = client
    .watch<ReplicaSet>(ReplicaSets, { namespace, labelSelector, resourceVersion: list.metadata!.resourceVersion!, signal: abort.signal }, (e) => {
      if (e.type === 'ADDED' || e.type === 'MODIFIED') seen.push(e.object.spec.replicas);
    })
    .catch(() => {});
  return {
    async stop() {
      abort.abort();
      await watching;
      return seen;
    },
  };
}
