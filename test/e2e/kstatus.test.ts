// Issue 12: what GitOps tools conclude from an AIModel's status. Flux and kpt compute kstatus
// (sigs.k8s.io/cli-utils, run here as the pinned checker in hack/components/kstatus); Argo CD's
// health checks and pipelines read observedGeneration and the Ready condition the same way
// `kubectl wait --for=condition=Ready` does. A status that says the new generation is Ready
// before the Deployment has rolled it out sends a pipeline on before a single new pod exists.
//
// The operator's watches arrive half a second late (test/support/lagging-proxy.ts), as from an
// API server whose watch cache trails under load: the answer to each of its writes is always
// ahead of its caches, so a status computed from a cache that has not seen the operator's own
// apply shows every time, not only when the informer loses a race.
//
// Every version of the model and of its Deployment and ReplicaSets is recorded from a watch.
// In this cluster a resourceVersion is etcd's revision, one counter for every object, so "the
// rollout at the moment the model said X" is the last Deployment and ReplicaSet versions at or
// before the model version's resourceVersion.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AIModels } from '../../src/controllers/aimodel/setup.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { Deployments, ReplicaSets } from '../../src/kube/resources.ts';
import type { ResourceType } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { poll } from '../../hack/localcluster/cluster.ts';
import { useTestCluster } from '../support/cluster.ts';
import type { TestCluster } from '../support/cluster.ts';
import { kstatusChecker, kstatusOf, kstatusOfLive } from '../support/kstatus.ts';
import type { KstatusResult } from '../support/kstatus.ts';
import { LaggingWatchProxy } from '../support/lagging-proxy.ts';
import { startTestOperator } from '../support/operator.ts';
import type { TestOperator } from '../support/operator.ts';
import { waitForObject } from '../support/wait.ts';

type Condition = { type: string; status: string; reason?: string; message?: string };
type Model = KubeObject & { spec: Record<string, unknown>; status?: { observedGeneration?: number; conditions?: Condition[] } };
type Obj = KubeObject & { spec?: any; status?: any };

const watchLagMs = 500;

let cluster: TestCluster;
let ns: string;
let proxy: LaggingWatchProxy | undefined;
let operator: TestOperator | undefined;

beforeAll(async () => {
  cluster = await useTestCluster();
  ns = await cluster.newNamespace();
  proxy = await LaggingWatchProxy.start(cluster.kubeConfig, watchLagMs);
  operator = await startTestOperator(cluster, [ns], [], proxy.kubeConfig());
  await kstatusChecker();
});

afterAll(async () => {
  // The operator first: it stops its watches through the proxy.
  await operator?.stop();
  await proxy?.close();
});

const readyCondition = (m: Model) => m.status?.conditions?.find((c) => c.type === 'Ready');
const isReady = (m: Model | undefined) => !!m && m.status?.observedGeneration === m.metadata.generation && readyCondition(m)?.status === 'True';
function toRevision(resourceVersion: string | undefined, of: string): number {
  const rv = Number(resourceVersion);
  if (!resourceVersion || !Number.isSafeInteger(rv)) throw new Error(`resourceVersion ${resourceVersion} of ${of} is not etcd's revision`);
  return rv;
}
const revision = (o: KubeObject): number => toRevision(o.metadata.resourceVersion, `${o.kind ?? ''} ${o.metadata.name}`);
const imageOf = (o: Obj): string | undefined => o.spec?.template?.spec?.containers?.[0]?.image;
const instance = (name: string) => `app.kubernetes.io/instance=${name}`;

async function createReady(name: string, spec: Record<string, unknown>): Promise<Model> {
  await cluster.client.create({ apiVersion: 'ai.openai.com/v1', kind: 'AIModel', metadata: { name, namespace: ns }, spec });
  return (await waitForObject<Model>(cluster.client, AIModels, ns, name, isReady, { timeoutMs: 90_000, description: `AIModel ${name} Ready` }))!;
}

/**
 * Every version of the objects a list/watch selects, from now until stop(), in the order the API
 * server wrote them. onVersion sees each as it arrives.
 */
class History<T extends KubeObject> {
  readonly versions: { rv: number; object: T; deleted: boolean }[] = [];
  private readonly abort = new AbortController();
  private ended: Error | undefined;
  private watching: Promise<void> = Promise.resolve();
  private readonly client: KubeClient;
  private readonly type: ResourceType;
  private readonly selector: { labelSelector?: string; fieldSelector?: string };
  private readonly onVersion: (object: T) => void;

  private constructor(client: KubeClient, type: ResourceType, selector: { labelSelector?: string; fieldSelector?: string }, onVersion: (object: T) => void) {
    this.client = client;
    this.type = type;
    this.selector = selector;
    this.onVersion = onVersion;
  }

  static async start<T extends KubeObject>(
    client: KubeClient,
    type: ResourceType,
    selector: { labelSelector?: string; fieldSelector?: string },
    onVersion: (object: T) => void = () => {},
  ): Promise<History<T>> {
    const history = new History<T>(client, type, selector, onVersion);
    const list = await client.list<T>(type, { namespace: ns, ...selector });
    for (const item of list.items) history.record(item, false);
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    history.watching = client
      .watch<T>(type, { namespace: ns, ...selector, resourceVersion: list.metadata!.resourceVersion!, allowWatchBookmarks: false, signal: history.abort.signal, onOpen: opened }, (event) => {
        if (event.type === 'ERROR') history.ended ??= new Error(`the ${type.plural} watch failed: ${event.object.message}`);
        else if (event.type !== 'BOOKMARK') history.record(event.object, event.type === 'DELETED');
      })
      .then(
        () => {
          if (!history.abort.signal.aborted) history.ended ??= new Error(`the ${type.plural} watch ended before the test did`);
        },
        (err: unknown) => {
          if (!history.abort.signal.aborted) history.ended ??= err as Error;
        },
      );
    await Promise.race([open, history.watching]);
    history.check();
    return history;
  }

  private record(object: T, deleted: boolean): void {
    this.versions.push({ rv: revision(object), object, deleted });
    if (!deleted) this.onVersion(object);
  }

  /** Throws if the watch broke off, since the history would then have gaps. */
  check(): void {
    if (this.ended) throw this.ended;
  }

  /** Resolves once the watch has delivered every version up to what a fresh list shows. */
  async caughtUp(): Promise<void> {
    await poll(`the ${this.type.plural} watch to catch up`, 30_000, async () => {
      this.check();
      const live = await this.client.list<T>(this.type, { namespace: ns, ...this.selector });
      const liveRv = new Map(live.items.map((o) => [o.metadata.name, o.metadata.resourceVersion]));
      const latest = this.at(Number.MAX_SAFE_INTEGER);
      if (latest.length !== liveRv.size) return false;
      return latest.every((o) => liveRv.get(o.metadata.name) === o.metadata.resourceVersion);
    });
  }

  /** The objects as they were at revision rv. */
  at(rv: number): T[] {
    const byName = new Map<string, T | undefined>();
    for (const v of this.versions) if (v.rv <= rv) byName.set(v.object.metadata.name, v.deleted ? undefined : v.object);
    return [...byName.values()].filter((o): o is T => o !== undefined);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.watching;
  }
}

/** The model's Deployment and ReplicaSets, recorded so the rollout can be judged at any revision. */
class Rollout {
  readonly deployments: History<Obj>;
  readonly replicaSets: History<Obj>;

  private constructor(deployments: History<Obj>, replicaSets: History<Obj>) {
    this.deployments = deployments;
    this.replicaSets = replicaSets;
  }

  static async watch(name: string): Promise<Rollout> {
    const selector = { labelSelector: instance(name) };
    return new Rollout(await History.start<Obj>(cluster.client, Deployments, selector), await History.start<Obj>(cluster.client, ReplicaSets, selector));
  }

  /**
   * Whether the Deployment had rolled out `image` to `desired` pods at revision rv: it had seen
   * its template, updatedReplicas == readyReplicas == desired, and the ReplicaSet of that image
   * had all `desired` pods Ready. Also a one-line account for failure messages.
   */
  at(rv: number, image: string, desired: number): { done: boolean; account: string } {
    const [deployment] = this.deployments.at(rv);
    if (!deployment) return { done: false, account: 'no Deployment' };
    const s = deployment.status ?? {};
    const current = this.replicaSets.at(rv).find((rs) => imageOf(rs) === image);
    const newPods = current ? `new ReplicaSet ${current.status?.readyReplicas ?? 0}/${current.spec?.replicas} ready` : 'no new ReplicaSet';
    const account = `Deployment gen=${deployment.metadata.generation} obs=${s.observedGeneration} image=${imageOf(deployment)} updated=${s.updatedReplicas ?? 0} ready=${s.readyReplicas ?? 0}; ${newPods}`;
    const done =
      imageOf(deployment) === image &&
      deployment.spec?.replicas === desired &&
      s.observedGeneration >= deployment.metadata.generation! &&
      s.updatedReplicas === desired &&
      s.readyReplicas === desired &&
      current?.spec?.replicas === desired &&
      current.status?.readyReplicas === desired;
    return { done, account };
  }

  async caughtUp(): Promise<void> {
    await Promise.all([this.deployments.caughtUp(), this.replicaSets.caughtUp()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.deployments.stop(), this.replicaSets.stop()]);
  }
}

interface Sample {
  model: Model;
  kstatus: KstatusResult;
}

/**
 * Runs the checker on every version of the model, in order, from now until `until` holds for a
 * sample (or the time is up).
 */
async function sampleKstatus(name: string, change: () => Promise<unknown>, until: (s: Sample) => boolean, timeoutMs = 90_000): Promise<Sample[]> {
  const samples: Sample[] = [];
  let checked: Promise<void> = Promise.resolve();
  let finished!: () => void;
  let failed!: (err: unknown) => void;
  const done = new Promise<void>((resolve, reject) => ((finished = resolve), (failed = reject)));
  // Awaited below; this only keeps a failure that comes before then from going unhandled.
  done.catch(() => {});
  const history = await History.start<Model>(cluster.client, AIModels, { fieldSelector: `metadata.name=${name}` }, (model) => {
    // One at a time, so the samples keep the order the API server wrote the versions in.
    checked = checked
      .then(async () => {
        const sample = { model, kstatus: await kstatusOf(model) };
        samples.push(sample);
        if (until(sample)) finished();
      })
      .catch(failed);
  });
  const timer = setTimeout(() => failed(new Error(`timed out after ${timeoutMs} ms; kstatus of each version:\n${timeline(samples)}`)), timeoutMs);
  try {
    await change();
    await done;
  } finally {
    clearTimeout(timer);
    await history.stop();
  }
  history.check();
  return samples;
}

const versionOf = (s: Sample) => `rv=${s.model.metadata.resourceVersion} gen=${s.model.metadata.generation} ${s.kstatus.status}`;

function timeline(samples: Sample[], rollout?: (s: Sample) => string): string {
  return samples
    .map((s) => {
      const ready = readyCondition(s.model);
      const line = `rv=${s.model.metadata.resourceVersion} gen=${s.model.metadata.generation} obs=${s.model.status?.observedGeneration} Ready=${ready?.status}/${ready?.reason} kstatus=${s.kstatus.status} (${s.kstatus.message})`;
      return rollout ? `${line}\n    ${rollout(s)}` : line;
    })
    .join('\n');
}

describe('kstatus (Flux, kpt) on a live AIModel', () => {
  it('after an image change says InProgress until the new pods are Ready, and Current only then', async () => {
    const name = 'rollout';
    const replicas = 4;
    const image = 'example.com/llm:2';
    const before = await createReady(name, { model: 'm', replicas });
    const settled = await kstatusOfLive(cluster, ns, name);
    expect(settled, settled.message).toMatchObject({ status: 'Current', generation: before.metadata.generation });

    const rollout = await Rollout.watch(name);
    const generation = before.metadata.generation! + 1;
    const samples = await sampleKstatus(
      name,
      () => cluster.client.patch(AIModels, ns, name, { spec: { image } }, { kind: 'merge' }),
      (s) => s.model.metadata.generation === generation && s.kstatus.status === 'Current',
    );
    await rollout.caughtUp();
    await rollout.stop();

    const changed = samples.filter((s) => s.model.metadata.generation === generation);
    const judged = changed.map((s) => ({ ...s, rollout: rollout.at(revision(s.model), image, replicas) }));
    const account = timeline(changed, (s) => rollout.at(revision(s.model), image, replicas).account);
    // Before the rollout is done only InProgress is true; once it is, Current (or InProgress
    // while the operator catches up).
    const wrong = judged.filter((s) => (s.rollout.done ? !['InProgress', 'Current'].includes(s.kstatus.status) : s.kstatus.status !== 'InProgress'));
    expect(wrong.map((s) => `rv=${s.model.metadata.resourceVersion} ${s.kstatus.status}: ${s.rollout.account}`), account).toEqual([]);
    expect(judged.at(-1)?.rollout.done, account).toBe(true);

    const live = await kstatusOfLive(cluster, ns, name);
    expect(live, live.message).toMatchObject({ status: 'Current', generation });
  });

  it('never says Current for a new model asking for more GPUs than any node has', async () => {
    const name = 'starved';
    const starvedOnGpus = (s: Sample) => s.model.status?.observedGeneration === s.model.metadata.generation && readyCondition(s.model)?.reason === 'InsufficientGPU';
    const samples = await sampleKstatus(
      name,
      () => cluster.client.create({ apiVersion: 'ai.openai.com/v1', kind: 'AIModel', metadata: { name, namespace: ns }, spec: { model: 'huge', replicas: 1, resources: { limits: { 'nvidia.com/gpu': 16 } } } }),
      starvedOnGpus,
    );
    // The version create wrote has no status yet, and kstatus calls any object without
    // observedGeneration or conditions Current (its documented limit: it cannot tell a resource
    // its controller has not seen yet from one without status). Every version that carries
    // the operator's status is judged.
    const reported = samples.filter((s) => s.model.status?.observedGeneration !== undefined);
    expect(reported.length).toBeGreaterThan(0);
    expect(reported.filter((s) => s.kstatus.status === 'Current').map(versionOf), timeline(samples)).toEqual([]);
    const live = await kstatusOfLive(cluster, ns, name);
    expect(live.status, live.message).not.toBe('Current');
  });

  it('never says Current at the new generation when a Ready model is changed to ask for more GPUs than any node has', async () => {
    const name = 'outgrown';
    const before = await createReady(name, { model: 'm', replicas: 2 });
    const generation = before.metadata.generation! + 1;
    const samples = await sampleKstatus(
      name,
      () => cluster.client.patch(AIModels, ns, name, { spec: { resources: { limits: { 'nvidia.com/gpu': 16 } } } }, { kind: 'merge' }),
      (s) => s.model.status?.observedGeneration === generation && readyCondition(s.model)?.reason === 'InsufficientGPU',
    );
    const changed = samples.filter((s) => s.model.metadata.generation === generation);
    expect(changed.filter((s) => s.kstatus.status === 'Current').map(versionOf), timeline(changed)).toEqual([]);
    const live = await kstatusOfLive(cluster, ns, name);
    expect(live.status, live.message).not.toBe('Current');
  });
});

describe('kubectl wait --for=condition=Ready', () => {
  it('started right after a spec change, returns only once the Deployment has rolled the change out', async () => {
    const name = 'waited';
    const replicas = 4;
    const image = 'example.com/llm:3';
    const before = await createReady(name, { model: 'm', replicas });
    const rollout = await Rollout.watch(name);
    await cluster.client.patch(AIModels, ns, name, { spec: { image } }, { kind: 'merge' });
    // -o json prints the version of the model the condition was met on.
    const waited = await cluster.kubectl(['wait', '-n', ns, '--for=condition=Ready', `aimodel/${name}`, '--timeout=90s', '-o', 'json']);
    // A quorum list right after: its resourceVersion is a revision no earlier than the return.
    const returnedAt = toRevision((await cluster.client.list(AIModels, { namespace: ns, limit: 1 })).metadata?.resourceVersion, 'a list of AIModels');
    expect(waited.code, waited.stderr).toBe(0);
    const seen = JSON.parse(waited.stdout) as Model;
    await rollout.caughtUp();
    await rollout.stop();

    expect(seen.metadata.generation).toBe(before.metadata.generation! + 1);
    const whenSeen = rollout.at(revision(seen), image, replicas);
    expect(whenSeen.done, `kubectl wait returned on rv=${seen.metadata.resourceVersion} (${JSON.stringify(readyCondition(seen))}) while: ${whenSeen.account}`).toBe(true);
    const whenReturned = rollout.at(returnedAt, image, replicas);
    expect(whenReturned.done, `when kubectl wait returned: ${whenReturned.account}`).toBe(true);
  });
});
