// What the bench sees of one namespace: informers (the operator's own runtime, pointed at the
// bench's client) on the AIModels and the children, reduced to the few fields the measurements
// need. Every watch event is handled synchronously as it arrives, so performance.now() in a
// handler is when the bench learned of the change.
import { AIModels } from '../../src/controllers/aimodel/setup.ts';
import { childName } from '../../src/desired/names.ts';
import { listWatcher } from '../../src/kube/adapters.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { Deployments, PodDisruptionBudgets, Services } from '../../src/kube/resources.ts';
import type { ResourceType } from '../../src/kube/resources.ts';
import { Informer } from '../../src/runtime/informer.ts';
import type { KubeObject } from '../../src/runtime/informer.ts';

export const revAnnotation = 'bench.ai.openai.com/rev';
const managedBy = 'app.kubernetes.io/managed-by=aimodel-operator';

interface ModelView {
  generation: number;
  observedGeneration: number | undefined;
  phase: string | undefined;
}

interface DeploymentView {
  rev: string | undefined;
  generation: number;
  observedGeneration: number;
  replicas: number;
  statusReplicas: number;
  updated: number;
  ready: number;
}

type Slim = KubeObject & { view?: unknown };

export class NamespaceTracker {
  readonly namespace: string;
  readonly models = new Map<string, ModelView>();
  readonly deployments = new Map<string, DeploymentView>();
  readonly services = new Set<string>();
  readonly pdbs = new Set<string>();
  /** Names of models whose children all exist and whose status describes their generation. */
  readonly converged = new Set<string>();
  /** When each model first converged (performance.now()). */
  readonly convergedAt = new Map<string, number>();
  private readonly expected: Set<string>;
  private readonly withPdb: boolean;
  private readonly stopper = new AbortController();
  private readonly informers: Informer<Slim>[] = [];
  private readonly listeners = new Set<() => void>();
  private readonly revWaiters = new Map<string, { rev: string; resolve: (at: number) => void }>();

  constructor(client: KubeClient, namespace: string, expected: Iterable<string>, options: { withPdb: boolean }) {
    this.namespace = namespace;
    this.expected = new Set(expected);
    this.withPdb = options.withPdb;
    this.informers.push(
      this.informer(client, AIModels, undefined, (obj) => {
        const o = obj as KubeObject & { status?: { observedGeneration?: number; phase?: string } };
        const view: ModelView = { generation: o.metadata.generation ?? 0, observedGeneration: o.status?.observedGeneration, phase: o.status?.phase };
        return view;
      }, (name, view) => {
        if (view) this.models.set(name, view as ModelView);
        else this.models.delete(name);
        this.check(name);
      }),
      this.informer(client, Deployments, managedBy, (obj) => {
        const o = obj as KubeObject & {
          spec?: { replicas?: number; template?: { metadata?: { annotations?: Record<string, string> } } };
          status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; readyReplicas?: number };
        };
        const view: DeploymentView = {
          rev: o.spec?.template?.metadata?.annotations?.[revAnnotation],
          generation: o.metadata.generation ?? 0,
          observedGeneration: o.status?.observedGeneration ?? 0,
          replicas: o.spec?.replicas ?? 1,
          statusReplicas: o.status?.replicas ?? 0,
          updated: o.status?.updatedReplicas ?? 0,
          ready: o.status?.readyReplicas ?? 0,
        };
        return view;
      }, (name, view, at) => {
        if (view) {
          this.deployments.set(name, view as DeploymentView);
          const waiter = this.revWaiters.get(name);
          if (waiter && waiter.rev === (view as DeploymentView).rev) {
            this.revWaiters.delete(name);
            waiter.resolve(at);
          }
        } else this.deployments.delete(name);
        this.check(this.modelOf(name, 'Deployment'));
      }),
      this.informer(client, Services, managedBy, () => true, (name, view) => {
        if (view) this.services.add(name);
        else this.services.delete(name);
        this.check(this.modelOf(name, 'Service'));
      }),
      this.informer(client, PodDisruptionBudgets, managedBy, () => true, (name, view) => {
        if (view) this.pdbs.add(name);
        else this.pdbs.delete(name);
        this.check(this.modelOf(name, 'PodDisruptionBudget'));
      }),
    );
  }

  private informer(
    client: KubeClient,
    type: ResourceType,
    labelSelector: string | undefined,
    reduce: (obj: KubeObject) => unknown,
    onChange: (name: string, view: unknown, at: number) => void,
  ): Informer<Slim> {
    const informer = new Informer<Slim>({
      name: `bench ${type.plural}`,
      listWatcher: listWatcher<Slim>(client, type, { namespace: this.namespace, ...(labelSelector ? { labelSelector } : {}) }),
      // Keep only what the bench reads: its own memory must not grow with the objects.
      transform: (obj) => ({ metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace, resourceVersion: obj.metadata.resourceVersion }, view: reduce(obj) }) as Slim,
      // The bench's watches must never go quiet long enough to relist mid-measurement.
      staleAfterMs: 30 * 60_000,
    });
    informer.addEventHandler({
      onAdd: (obj) => onChange(obj.metadata.name, obj.view, performance.now()),
      onUpdate: (_old, obj) => onChange(obj.metadata.name, obj.view, performance.now()),
      onDelete: (obj) => onChange(obj.metadata.name, undefined, performance.now()),
    });
    void informer.start(this.stopper.signal);
    return informer;
  }

  // Children are named <model><suffix>; the bench's model names map back by trying each expected suffix.
  private modelOf(child: string, kind: 'Deployment' | 'Service' | 'PodDisruptionBudget'): string {
    const suffix = childName({ metadata: { name: '' } }, kind);
    return suffix && child.endsWith(suffix) ? child.slice(0, -suffix.length) : child;
  }

  async synced(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.waitForSync(this.stopper.signal)));
  }

  private isConverged(name: string): boolean {
    const m = this.models.get(name);
    if (!m || m.observedGeneration !== m.generation) return false;
    const model = { metadata: { name } };
    return (
      this.deployments.has(childName(model, 'Deployment')) &&
      this.services.has(childName(model, 'Service')) &&
      (!this.withPdb || this.pdbs.has(childName(model, 'PodDisruptionBudget')))
    );
  }

  private check(name: string): void {
    if (this.expected.has(name)) {
      if (this.isConverged(name)) {
        if (!this.converged.has(name)) {
          this.converged.add(name);
          if (!this.convergedAt.has(name)) this.convergedAt.set(name, performance.now());
        }
      } else this.converged.delete(name);
    }
    for (const l of this.listeners) l();
  }

  /** Deployments whose rollout is done: all replicas updated and ready, no old pods left. */
  settledDeployments(): number {
    let n = 0;
    for (const name of this.expected) if (this.deploymentSettled(name)) n++;
    return n;
  }

  deploymentSettled(model: string): boolean {
    const d = this.deployments.get(childName({ metadata: { name: model } }, 'Deployment'));
    return d !== undefined && d.observedGeneration >= d.generation && d.updated === d.replicas && d.ready === d.replicas && d.statusReplicas === d.replicas;
  }

  /** The model's rollout is done and (when an operator writes it) its status says so. */
  modelSettled(model: string, withStatus: boolean): boolean {
    if (!this.deploymentSettled(model)) return false;
    if (!withStatus) return true;
    const m = this.models.get(model);
    return m !== undefined && m.observedGeneration === m.generation && (m.phase === 'Ready' || m.phase === 'Pending');
  }

  /** Models whose status reports the settled state (phase Ready, or Pending when scaled to 0). */
  settledModels(): number {
    let n = 0;
    for (const name of this.expected) {
      const m = this.models.get(name);
      if (m && m.observedGeneration === m.generation && (m.phase === 'Ready' || m.phase === 'Pending')) n++;
    }
    return n;
  }

  /** Resolves when check() holds (tested on every event and every 250 ms); rejects on timeout. */
  waitUntil(what: string, check: () => boolean, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        if (!check()) return;
        cleanup();
        resolve(performance.now());
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`));
      }, timeoutMs);
      const poll = setInterval(done, 250);
      const cleanup = (): void => {
        clearTimeout(timer);
        clearInterval(poll);
        this.listeners.delete(done);
      };
      this.listeners.add(done);
      done();
    });
  }

  /** Resolves with the time the Deployment of `model` showed pod-template annotation rev. */
  waitForRev(model: string, rev: string, timeoutMs: number): Promise<number> {
    const name = childName({ metadata: { name: model } }, 'Deployment');
    if (this.deployments.get(name)?.rev === rev) return Promise.resolve(performance.now());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.revWaiters.delete(name);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for Deployment ${name} to show rev ${rev}`));
      }, timeoutMs);
      this.revWaiters.set(name, {
        rev,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      });
    });
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}
