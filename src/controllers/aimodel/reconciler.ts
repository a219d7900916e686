// The AIModel reconciler: one function from a model's key to a result. It reads the caches,
// computes the desired children, applies only what differs with server-side apply, deletes
// children the model no longer wants, and reports status, Events and metrics.
import { AIModelStatusSchema, API_VERSION, KIND, parseAIModel } from '../../api/v1/aimodel.ts';
import type { AIModel } from '../../api/v1/aimodel.ts';
import { AIModels } from '../../api/v1/resource.ts';
import { autoscalerFor, deciderHpaName, defaultCpuCores, requestsCpu } from '../../desired/autoscaling.ts';
import { desiredChildren } from '../../desired/children.ts';
import type { DesiredChildren } from '../../desired/children.ts';
import type { OperatorDefaults } from '../../desired/defaults.ts';
import { deploymentReplicas, userClaimName } from '../../desired/deployment.ts';
import { childName, endpointFor, KEDA_HPA_PREFIX, selectorFor } from '../../desired/names.ts';
import type { KubeClient } from '../../kube/client.ts';
import { ApiError, isNotFound, isRefusal } from '../../kube/errors.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { intentHash, intentHashAnnotation, upToDate, withIntentHash } from '../../kube/intent.ts';
import { replaceDriftedElements } from '../../kube/ownership.ts';
import {
  Deployments,
  HorizontalPodAutoscalers,
  PersistentVolumeClaims,
  PodDisruptionBudgets,
  PodMonitors,
  ScaledObjects,
  Services,
} from '../../kube/resources.ts';
import type { ResourceType } from '../../kube/resources.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { Clock } from '../../runtime/clock.ts';
import type { ReconcileContext, Reconciler, Request, Result } from '../../runtime/controller.ts';
import type { CacheReader } from '../../runtime/cache.ts';
import { controllerOf } from '../../runtime/informer.ts';
import { DriftBackoff, otherManagers } from './drift.ts';
import { appliedReplicas, fieldManager, handoverFieldManager, handOverReplicas } from './handover.ts';
import type { AIModelMetrics } from './metrics.ts';
import { computeStatus } from './status.ts';
import type { ModelStatus } from './status.ts';
import type { PodJson } from './rootcause.ts';

export { fieldManager, handoverFieldManager } from './handover.ts';

export type ModelObject = KubeObject & { spec?: unknown; status?: ModelStatus };
type Child = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

/** The informer caches the reconciler reads; it never lists from the API server. */
export interface ModelCaches {
  /** Indexed by `modelsByClaimIndex` ("namespace/claim name" of spec.storage.existingClaim). */
  models: CacheReader<ModelObject>;
  deployments: CacheReader<Child>;
  services: CacheReader<Child>;
  hpas: CacheReader<Child>;
  pdbs: CacheReader<Child>;
  /** Absent where the operator makes no PodMonitors (their CRD is not served, or it is told not to). */
  podMonitors?: CacheReader<Child>;
  /** Absent where KEDA's ScaledObject is not served (or the operator is told not to make them). */
  scaledObjects?: CacheReader<Child>;
  /** Every claim in the watched namespaces: a model may wait for a user's own. */
  pvcs: CacheReader<Child>;
  /** Pods indexed by `podsByModelIndex` ("namespace/model name"). */
  pods: CacheReader<KubeObject & PodJson>;
}

export const podsByModelIndex = 'model';
export const modelsByClaimIndex = 'existingClaim';

export interface AIModelReconcilerOptions {
  client: KubeClient;
  caches: ModelCaches;
  defaults: OperatorDefaults;
  events: EventRecorder;
  metrics: AIModelMetrics;
  clock: Clock;
}

interface ChildKind {
  name: 'Deployment' | 'Service' | 'HorizontalPodAutoscaler' | 'PodDisruptionBudget' | 'PersistentVolumeClaim' | 'PodMonitor' | 'ScaledObject';
  type: ResourceType;
  /** Undefined when the kind is not managed in this cluster: neither applied nor deleted. */
  cache: (c: ModelCaches) => CacheReader<Child> | undefined;
  /** PVCs hold model weights: the operator never deletes one; garbage collection does with the model. */
  deletable: boolean;
  /** Writes the Deployment's replicas: at most one such child may exist at a time (see syncAutoscalers). */
  autoscaler?: boolean;
}

// Apply order matters: the Deployment takes back `replicas` before the autoscaler it replaces is
// deleted, and the outgoing autoscaler is gone before the incoming one is made.
const childKinds: ChildKind[] = [
  { name: 'PersistentVolumeClaim', type: PersistentVolumeClaims, cache: (c) => c.pvcs, deletable: false },
  { name: 'Deployment', type: Deployments, cache: (c) => c.deployments, deletable: true },
  { name: 'Service', type: Services, cache: (c) => c.services, deletable: true },
  { name: 'HorizontalPodAutoscaler', type: HorizontalPodAutoscalers, cache: (c) => c.hpas, deletable: true, autoscaler: true },
  { name: 'ScaledObject', type: ScaledObjects, cache: (c) => c.scaledObjects, deletable: true, autoscaler: true },
  { name: 'PodDisruptionBudget', type: PodDisruptionBudgets, cache: (c) => c.pdbs, deletable: true },
  { name: 'PodMonitor', type: PodMonitors, cache: (c) => c.podMonitors, deletable: true },
];

/** How long to wait for an outgoing autoscaler to go when no event says it went. */
const AUTOSCALER_HANDOVER_RETRY_MS = 5_000;

/** Why a model cannot be served as it is; reported on status, and retried with backoff. */
interface Blocker {
  reason: string;
  message: string;
}

/** What one child's sync did: the object as the API server last showed it, and what happened. */
interface ChildSync {
  /** The apply's response when there was one: fresher than any cache. */
  observed?: Child;
  verb?: 'Created' | 'Updated';
  blocker?: Blocker;
  /** Drift correction is spaced out: come back after this long. */
  waitMs?: number;
}

function canonicalEqual(a: unknown, b: unknown): boolean {
  return intentHash(a ?? null) === intentHash(b ?? null);
}

export class AIModelReconciler implements Reconciler {
  private readonly options: AIModelReconcilerOptions;
  private readonly drift: DriftBackoff;

  constructor(options: AIModelReconcilerOptions) {
    this.options = options;
    this.drift = new DriftBackoff(options.clock);
  }

  async reconcile(req: Request, ctx: ReconcileContext): Promise<Result> {
    const { caches, metrics } = this.options;
    const live = caches.models.get(req.namespace, req.name);
    // Deleted: owner references let the garbage collector remove the children.
    if (!live || live.metadata.deletionTimestamp) return {};
    const model: ModelObject = { ...live, apiVersion: API_VERSION, kind: KIND };

    const parsed = parseAIModel(model);
    if (!parsed.ok) {
      const invalid = parsed.problems.map((p) => ({ field: p.path, message: p.message }));
      ctx.log.warn({ problems: invalid }, 'invalid AIModel spec; children left as they are');
      await this.writeStatus(model, this.status(model, undefined, undefined, new Map(), { invalid }), ctx);
      metrics.outcome('InvalidSpec');
      return {};
    }

    const children = desiredChildren(parsed.model, this.options.defaults);
    const waiting = this.missingClaim(parsed.model);
    const synced = waiting ? { observed: new Map<string, Child>(), waitMs: undefined } : await this.syncChildren(model, parsed.model, children, ctx);
    const blocker = waiting ?? synced.blocker;

    const status = this.status(model, parsed.model, children, synced.observed, blocker ? { childError: blocker } : {});
    await this.writeStatus(model, status, ctx);
    metrics.outcome(status.conditions?.find((c) => c.type === 'Ready')?.reason ?? 'Unknown');
    // A missing claim brings the model back through the claim's watch. A refused or foreign
    // child may be fixed by something the operator does not watch (a webhook, a deleted object):
    // retry with the queue's backoff rather than wait for the next resync.
    if (blocker && !waiting) return { requeue: true };
    return synced.waitMs !== undefined ? { requeueAfterMs: synced.waitMs } : {};
  }

  /** The user's claim is theirs: report a missing one instead of creating pods that cannot start. */
  private missingClaim(model: AIModel): Blocker | undefined {
    const claim = userClaimName(model.spec);
    if (!claim || this.options.caches.pvcs.get(model.metadata.namespace, claim)) return undefined;
    const field = model.spec.source === undefined ? 'spec.storage.existingClaim.claimName' : 'spec.source.uri';
    const message = `${field}: PersistentVolumeClaim "${claim}" does not exist in namespace ${model.metadata.namespace}`;
    return { reason: 'StorageClaimNotFound', message };
  }

  /** Applies each wanted child that differs, deletes unwanted ones, and records one Event per verb. */
  private async syncChildren(
    model: ModelObject,
    typed: AIModel,
    children: DesiredChildren,
    ctx: ReconcileContext,
  ): Promise<{ observed: Map<string, Child>; blocker?: Blocker; waitMs?: number }> {
    const wanted = new Map<string, Child>();
    for (const child of Object.values(children)) if (child) wanted.set(child.kind, child as unknown as Child);
    const observed = new Map<string, Child>();
    const done: Record<'Created' | 'Updated', string[]> = { Created: [], Updated: [] };
    let blocker: Blocker | undefined;
    let waitMs: number | undefined;

    let autoscalersSynced = false;
    for (const kind of childKinds) {
      const cache = kind.cache(this.options.caches);
      if (cache === undefined) continue;
      if (kind.autoscaler && !autoscalersSynced) {
        autoscalersSynced = true;
        if (await this.removeOutgoingAutoscalers(model, wanted, ctx)) {
          waitMs = Math.min(waitMs ?? Infinity, AUTOSCALER_HANDOVER_RETRY_MS);
          // The incoming autoscaler waits for the outgoing one: the others still sync.
          for (const other of childKinds) if (other.autoscaler) wanted.delete(other.name);
        }
      }
      if (kind.autoscaler && !wanted.has(kind.name)) continue;
      const intent = wanted.get(kind.name);
      if (!intent) {
        if (kind.deletable) await this.deleteUnwanted(model, kind, cache, ctx);
        continue;
      }
      const sync = await this.syncChild(model, typed, kind, cache, intent, ctx);
      if (sync.observed) observed.set(kind.name, sync.observed);
      if (sync.verb) done[sync.verb].push(`${kind.name} ${intent.metadata.name}`);
      if (sync.waitMs !== undefined) waitMs = Math.min(waitMs ?? Infinity, sync.waitMs);
      blocker ??= sync.blocker;
    }
    // One Event per verb and reconcile: a new model's children cost one write, not one each.
    for (const verb of ['Created', 'Updated'] as const) {
      if (done[verb].length > 0) this.options.events.record(model, 'Normal', verb, `${verb} ${done[verb].join(', ')}`);
    }
    return { observed, ...(blocker ? { blocker } : {}), ...(waitMs !== undefined ? { waitMs } : {}) };
  }

  /**
   * Exactly one autoscaler owns the Deployment's replicas at a time. Autoscalers the model no longer
   * wants are deleted first; the wanted one is made only once they are gone: KEDA's admission
   * webhook refuses a ScaledObject for a Deployment another HPA scales, and two HPAs on one
   * Deployment both stop (AmbiguousSelector). Meanwhile nobody writes replicas, so the count
   * stays where the last autoscaler left it. True while an outgoing one is still there.
   */
  private async removeOutgoingAutoscalers(model: ModelObject, wanted: Map<string, Child>, ctx: ReconcileContext): Promise<boolean> {
    const { caches } = this.options;
    const namespace = model.metadata.namespace!;
    const uid = model.metadata.uid ?? '';
    let outgoing = false;
    for (const kind of childKinds) {
      const cache = kind.cache(caches);
      if (!kind.autoscaler || cache === undefined || wanted.has(kind.name)) continue;
      const owned = cache.byIndex('controller', uid).filter((obj) => obj.metadata.namespace === namespace);
      if (owned.length === 0) continue;
      outgoing = true;
      if (owned.some((obj) => !obj.metadata.deletionTimestamp)) await this.deleteUnwanted(model, kind, cache, ctx);
    }
    // KEDA removes its own HPA when the ScaledObject goes (the object's finalizer): wait for that too.
    if (!wanted.has('ScaledObject')) {
      const kedaHpa = caches.hpas.get(namespace, `${KEDA_HPA_PREFIX}${childName(model, 'ScaledObject')}`);
      if (kedaHpa !== undefined && kedaOwned(kedaHpa, model)) outgoing = true;
    }
    if (outgoing && [...wanted.keys()].some((kind) => childKinds.find((k) => k.name === kind)?.autoscaler)) {
      ctx.log.info({}, 'waiting for the outgoing autoscaler to be gone before making the new one');
      return true;
    }
    return false;
  }

  /** Deletes anything of this kind that the model controls: it is no longer wanted. */
  private async deleteUnwanted(model: ModelObject, kind: ChildKind, cache: CacheReader<Child>, ctx: ReconcileContext): Promise<void> {
    const namespace = model.metadata.namespace!;
    for (const obj of cache.byIndex('controller', model.metadata.uid ?? '')) {
      if (obj.metadata.namespace !== namespace || obj.metadata.deletionTimestamp) continue;
      const deleted = await this.options.client
        .delete(kind.type, namespace, obj.metadata.name, { propagationPolicy: 'Background', preconditions: { uid: obj.metadata.uid! }, signal: ctx.signal })
        .catch((err: unknown) => {
          if (err instanceof ApiError && err.status === 409) return false; // replaced meanwhile
          throw err;
        });
      if (deleted) {
        this.options.events.record(model, 'Normal', 'Deleted', `Deleted ${kind.name} ${obj.metadata.name}`);
        ctx.log.info({ kind: kind.name, child: obj.metadata.name }, 'deleted child');
      }
    }
  }

  private async syncChild(model: ModelObject, typed: AIModel, kind: ChildKind, cache: CacheReader<Child>, intent: Child, ctx: ReconcileContext): Promise<ChildSync> {
    const { client, events } = this.options;
    const namespace = model.metadata.namespace!;
    const name = intent.metadata.name;
    // The caches hold only objects carrying the operator's label: one that is missing there may
    // still exist, made by someone else.
    const current = cache.get(namespace, name) ?? (await client.find<Child>(kind.type, namespace, name, ctx.signal));
    if (current && controllerOf(current)?.uid !== model.metadata.uid) return this.foreign(model, kind, current, ctx);

    let stamped = withIntentHash(intent);
    if (upToDate(stamped, current, fieldManager)) return {};
    const childKey = `${kind.name}/${namespace}/${name}`;
    // The intent did not change, the object did: another writer changed fields we own.
    const drifted = current !== undefined && sameIntent(stamped, current);
    if (drifted) {
      const waitMs = this.drift.admit(childKey);
      if (waitMs > 0) return { waitMs };
      await this.reportDrift(model, kind, name, childKey, ctx);
    }
    if (kind.name === 'Deployment' && stamped.spec?.replicas === undefined) {
      if (current) await this.handReplicasToHpa(typed, current, ctx);
      // A new autoscaled Deployment starts at spec.replicas (within the bounds), not at the API
      // default of 1; the HPA takes over from there.
      else stamped = { ...stamped, spec: { ...stamped.spec, replicas: initialAutoscaledReplicas(typed) } };
    }
    let applied: Child;
    try {
      applied = await this.apply(kind, stamped, drifted, ctx);
    } catch (err) {
      const message = `${kind.name} ${name}: ${err instanceof Error ? err.message : String(err)}`;
      events.record(model, 'Warning', 'ApplyFailed', message);
      // The API server refused the object (e.g. a field the schema could not catch): report it
      // and go on with the other children; anything else is retried by the queue.
      if (!isRefusal(err)) throw err;
      return { blocker: { reason: `${kind.name}Refused`, message: `${kind.name} ${name} was refused by the API server: ${err.message}` } };
    }
    const verb = current ? 'Updated' : 'Created';
    ctx.log.info({ kind: kind.name, child: name, verb }, 'applied child');
    return { observed: applied, verb };
  }

  /**
   * A forced apply restores every field the operator owns, but cannot remove a field another
   * writer set beside one of them: an emptyDir replaced by a hostPath comes back as a volume with
   * both, which the API server refuses. Then the elements that drifted are put back whole (a JSON
   * patch conditional on the version read) and the apply is sent again.
   */
  private async apply(kind: ChildKind, stamped: Child, drifted: boolean, ctx: ReconcileContext): Promise<Child> {
    const { client } = this.options;
    try {
      return await client.apply(stamped, { fieldManager, force: true, signal: ctx.signal });
    } catch (err) {
      if (!drifted || !isRefusal(err)) throw err;
      const { namespace, name } = stamped.metadata;
      const live = await client.find<Child>(kind.type, namespace, name, ctx.signal);
      const patch = live ? replaceDriftedElements(stamped, live, fieldManager) : [];
      if (patch.length === 0) throw err;
      await client.patch(kind.type, namespace, name, patch, { kind: 'json', fieldManager, signal: ctx.signal });
      ctx.log.info({ kind: kind.name, child: name, paths: patch.slice(1).map((op) => op.path) }, 'put back list elements another writer changed');
      return await client.apply(stamped, { fieldManager, force: true, signal: ctx.signal });
    }
  }

  /**
   * An object with the child's name that this model does not control: a user's own Service, or
   * one another model or tool controls. A forced apply would take it over (retarget a Service's
   * selector, for one), so it is left untouched and reported.
   */
  private foreign(model: ModelObject, kind: ChildKind, current: Child, ctx: ReconcileContext): ChildSync {
    const owner = controllerOf(current);
    const holder = owner ? `is controlled by ${owner.kind} ${owner.name}` : 'has no controller';
    const message = `${kind.name} ${current.metadata.name} already exists and ${holder}, not by this AIModel; it is left untouched: delete or rename it, or rename the AIModel`;
    this.options.events.record(model, 'Warning', `${kind.name}Conflict`, message);
    ctx.log.warn({ kind: kind.name, child: current.metadata.name, owner }, 'child name taken by an object the model does not control');
    return { blocker: { reason: `${kind.name}Conflict`, message } };
  }

  /** Names the other writer in a Warning Event before the operator restores its fields. */
  private async reportDrift(model: ModelObject, kind: ChildKind, name: string, childKey: string, ctx: ReconcileContext): Promise<void> {
    const live = await this.options.client.find<Child>(kind.type, model.metadata.namespace, name, ctx.signal);
    const others = otherManagers(live?.metadata.managedFields, [fieldManager, handoverFieldManager]);
    const who = others.length > 0 ? `field manager ${others.map((m) => `"${m}"`).join(', ')}` : 'another writer';
    const n = this.drift.corrections(childKey);
    const message = `${kind.name} ${name}: fields owned by ${fieldManager} were changed by ${who}; restoring them (correction ${n}; repeated changes are corrected at most every ${Math.min(300, 2 ** (n - 1))} s)`;
    this.options.events.record(model, 'Warning', 'ConflictingWriter', message);
    ctx.log.warn({ kind: kind.name, child: name, managers: others, corrections: n }, 'another writer changed fields the operator owns');
  }

  /** See handover.ts: the count is read fresh and written only if nobody scaled since. KEDA's HPA takes it over as the operator's does. */
  private async handReplicasToHpa(model: AIModel, current: Child, ctx: ReconcileContext): Promise<void> {
    const { client } = this.options;
    const fresh = await client.find<Child>(Deployments, current.metadata.namespace, current.metadata.name, ctx.signal);
    if (!fresh || !appliedReplicas(fresh, fieldManager)) return;
    const now = Number(fresh.spec?.replicas ?? 0);
    const replicas = now > 0 ? clampToBounds(model, now) : initialAutoscaledReplicas(model);
    await handOverReplicas(client, fresh, replicas, ctx.signal);
    ctx.log.info({ replicas }, 'handed Deployment replicas over to the HorizontalPodAutoscaler');
  }

  private status(
    model: ModelObject,
    typed: AIModel | undefined,
    children: DesiredChildren | undefined,
    observed: Map<string, Child>,
    extra: { invalid?: { field: string; message: string }[]; childError?: Blocker },
  ): ModelStatus {
    const { caches, clock, defaults } = this.options;
    const namespace = model.metadata.namespace!;
    // A stored status is only trusted when it fits the schema: anything could have written it.
    const stored = AIModelStatusSchema.safeParse(model.status);
    const previous = stored.success ? (stored.data as ModelStatus | undefined) : undefined;
    // What this reconcile applied is newer than the caches, which have not seen it yet: a
    // Deployment whose new template its controller has not observed must not look rolled out.
    const latest = (kind: ChildKind['name'], name: string | undefined, cache: CacheReader<Child>): Child | undefined =>
      name === undefined ? undefined : (observed.get(kind) ?? cache.get(namespace, name));
    const deployment = latest('Deployment', children?.deployment.metadata.name, caches.deployments);
    const choice = typed ? autoscalerFor(typed, defaults) : undefined;
    const deciderName = typed && choice ? deciderHpaName(typed, choice) : undefined;
    let hpa: Child | undefined;
    let scaledObject: Child | undefined;
    if (choice?.kind === 'HorizontalPodAutoscaler') hpa = latest('HorizontalPodAutoscaler', children?.hpa?.metadata.name, caches.hpas);
    if (choice?.kind === 'ScaledObject' && caches.scaledObjects) {
      scaledObject = latest('ScaledObject', children?.scaledObject?.metadata.name, caches.scaledObjects);
      const kedaHpa = deciderName === undefined ? undefined : caches.hpas.get(namespace, deciderName);
      if (kedaHpa && kedaOwned(kedaHpa, model as { metadata: { name: string } })) hpa = kedaHpa;
    }
    const spec = (typed?.spec ?? {}) as Partial<AIModel['spec']>;
    return computeStatus({
      generation: model.metadata.generation ?? 0,
      suspended: spec.suspend ?? false,
      autoscaling: spec.autoscaling !== undefined,
      ...(typed && choice && choice.kind !== 'None'
        ? {
            autoscaler: {
              ...choice,
              ...(deciderName ? { hpaName: deciderName } : {}),
              ...(choice.kind === 'HorizontalPodAutoscaler' && choice.signal === 'cpuUtilizationPercent' && !requestsCpu(typed) ? { cpuBaseCores: defaultCpuCores(defaults) } : {}),
              name: childName(typed, choice.kind === 'ScaledObject' ? 'ScaledObject' : 'HorizontalPodAutoscaler'),
            },
          }
        : {}),
      ...(scaledObject ? { scaledObject: scaledObject as never } : {}),
      specReplicas: (typed ? deploymentReplicas(typed.spec, defaults) : undefined) ?? spec.replicas ?? 1,
      selector: typed ? selectorFor(typed) : (previous?.selector ?? ''),
      endpoint: typed ? endpointFor(typed, defaults.clusterDomain) : (previous?.endpoint ?? ''),
      ...(extra.invalid ? { invalid: extra.invalid } : {}),
      ...(extra.childError ? { childError: extra.childError } : {}),
      ...(deployment ? { deployment: deployment as never } : {}),
      ...(hpa ? { hpa: hpa as never } : {}),
      pods: caches.pods.byIndex(podsByModelIndex, `${namespace}/${model.metadata.name}`),
      ...(previous ? { previous } : {}),
      now: new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
  }

  /** Writes status through the status subresource, only when it changed. */
  private async writeStatus(model: ModelObject, status: ModelStatus, ctx: ReconcileContext): Promise<void> {
    if (canonicalEqual(stripUndefined(status), model.status)) return;
    // The stored status may hold anything (it bypassed the schema): read it defensively.
    const storedConditions: unknown = (model.status as { conditions?: unknown } | undefined)?.conditions;
    const before = Array.isArray(storedConditions)
      ? (storedConditions.find((c) => (c as { type?: unknown } | null)?.type === 'Ready') as { status?: string; reason?: string } | undefined)
      : undefined;
    const after = status.conditions?.find((c) => c.type === 'Ready');
    const { client } = this.options;
    try {
      await client.apply(
        { apiVersion: API_VERSION, kind: KIND, metadata: { name: model.metadata.name, namespace: model.metadata.namespace }, status } as KubeObject,
        { fieldManager, force: true, subresource: 'status', signal: ctx.signal },
      );
    } catch (err) {
      if (isNotFound(err)) return; // deleted meanwhile
      if (!isRefusal(err)) throw err;
      // Server-side apply needs the stored object to fit the schema; one that bypassed it (an
      // older CRD) cannot be converted. A merge patch of the status still reports the problem.
      try {
        await client.patch(AIModels, model.metadata.namespace, model.metadata.name, { status }, { kind: 'merge', subresource: 'status', fieldManager, signal: ctx.signal });
      } catch (patchErr) {
        if (!isRefusal(patchErr)) throw patchErr;
        // The API server checks the stored spec against the CRD's rules on every write, status
        // included, and some junk (a rule that cannot evaluate on it) fails them all. Nothing can
        // be written to the object: an Event says what the status would have said, and the
        // model comes back when its spec changes.
        if (after) this.options.events.record(model, 'Warning', after.reason, after.message);
        ctx.log.warn({ err: patchErr, reason: after?.reason }, 'the API server refuses any status for this AIModel; reported with an Event');
        return;
      }
    }
    if (after && (before?.status !== after.status || before.reason !== after.reason)) {
      const type = after.status === 'True' || after.reason === 'Suspended' ? 'Normal' : 'Warning';
      const quiet = ['Creating', 'WaitingForReplicas', 'RollingOut', 'DownloadingWeights'].includes(after.reason);
      if (!quiet) this.options.events.record(model, type, after.reason, after.message);
      ctx.log.info({ phase: status.phase, ready: after.status, reason: after.reason }, 'status changed');
    }
  }
}

/** True for the HPA KEDA made for this model's ScaledObject. */
export function kedaOwned(hpa: KubeObject, model: { metadata: { name: string } }): boolean {
  const owner = controllerOf(hpa);
  return owner?.kind === 'ScaledObject' && owner.apiVersion.startsWith('keda.sh/') && owner.name === childName(model, 'ScaledObject');
}

/** True when the live object carries the hash of this very intent: it was applied unchanged. */
function sameIntent(stamped: Child, live: Child): boolean {
  return live.metadata.annotations?.[intentHashAnnotation] === stamped.metadata.annotations?.[intentHashAnnotation];
}

function clampToBounds(model: AIModel, replicas: number): number {
  const bounds = model.spec.autoscaling;
  return bounds ? Math.min(bounds.maxReplicas, Math.max(bounds.minReplicas, replicas)) : replicas;
}

/** A new autoscaled model starts serving, even with minReplicas 0: its autoscaler takes it down when idle. */
function initialAutoscaledReplicas(model: AIModel): number {
  return clampToBounds(model, model.spec.replicas ?? Math.max(1, model.spec.autoscaling?.minReplicas ?? 1));
}

function stripUndefined<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
