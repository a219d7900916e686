// Records a number every object of a watch carries while a change happens, so a test can show
// that a transition never dips below a count (a watch sees what a poll misses).
import type { KubeClient } from '../../src/kube/client.ts';
import { Deployments, ReplicaSets } from '../../src/kube/resources.ts';
import type { ResourceType } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';

type Watched = KubeObject & { spec?: { replicas?: number }; status?: { availableReplicas?: number } };

async function record(
  client: KubeClient,
  type: ResourceType,
  options: { namespace: string; labelSelector?: string; fieldSelector?: string },
  pick: (obj: Watched) => number,
): Promise<{ stop(): Promise<number[]> }> {
  const seen: number[] = [];
  const abort = new AbortController();
  const list = await client.list<Watched>(type, options);
  const watching = client
    .watch<Watched>(type, { ...options, resourceVersion: list.metadata!.resourceVersion!, signal: abort.signal }, (e) => {
      if (e.type === 'ADDED' || e.type === 'MODIFIED') seen.push(pick(e.object));
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

/** spec.replicas of every ReplicaSet of one model. */
export const watchReplicaCounts = (client: KubeClient, namespace: string, instance: string) =>
  record(client, ReplicaSets, { namespace, labelSelector: `app.kubernetes.io/instance=${instance}` }, (rs) => rs.spec?.replicas ?? 0);

/** status.availableReplicas of one Deployment: the pods that serve. */
export const watchAvailableReplicas = (client: KubeClient, namespace: string, name: string) =>
  record(client, Deployments, { namespace, fieldSelector: `metadata.name=${name}` }, (d) => d.status?.availableReplicas ?? 0);
