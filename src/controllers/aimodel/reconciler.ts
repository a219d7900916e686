// The AIModel reconciler: one function from a model's key to a result. It reads the caches,
// computes the desired children, applies only what differs with server-side apply, deletes
// children the model no longer wants, and reports status, Events and metrics.
import { AIModelStatusSchema, API_VERSION, KIND, parseAIModel } from '../../api/v1/aimodel.ts';
import type { AIModel } from '../../api/v1/aimodel.ts';
import { AIModels } from '../../api/v1/resource.ts';
import { desiredChildren } from '../../desired/children.ts';
import type { DesiredChildren } from '../../desired/children.ts';
import type { OperatorDefaults } from '../../desired/defaults.ts';
import type { KubeClient } from '../../kube/client.ts';
import { ApiError, isNotFound } from '../../kube/errors.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { intentHash, intentHashAnnotation, upToDate, withIntentHash } from '../../kube/intent.ts';
import {
  Deployments,
  HorizontalPodAutoscalers,
  PersistentVolumeClaims,
  PodDisruptionBudgets,
  Services,
} from '../../kube/resources.ts';
import type { ResourceType } from '../../kube/resources.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { Clock } from '../../runtime/clock.ts';
import type { ReconcileContext, Reconciler, Request, Result } from '../../runtime/controller.ts';
import type { CacheReader } from '../../runtime/cache.ts';
import { DriftBackoff, otherManagers } from './drift.ts';
import type { AIModelMetrics } from './metrics.ts';
import { computeStatus } from './status.ts';
import type { ModelStatus } from './status.ts';
import type { PodJson } from './rootcause.ts';

export const fieldManager = 'aimodel-operator';
/** A second manager that holds Deployment replicas while ownership passes to the HPA. */
export const handoverFieldManager = 'aimodel-operator-handover';

export type ModelObject = KubeObject & { spec?: unknown; status?: ModelStatus };
type Child = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

/** The informer caches the reconciler reads; it never lists from the API server. */
export interface ModelCaches {
  models: CacheReader<ModelObject>;
  deployments: CacheReader<Child>;
  services: CacheReader<Child>;
  hpas: CacheReader<Child>;
  pdbs: CacheReader<Child>;
  pvcs: CacheReader<Child>;
  /** Pods indexed by `podsByModelIndex` ("namespace/model name"). */
  pods: CacheReader<KubeObject & PodJson>;
}

export const podsByModelIndex = 'model';

export interface AIModelReconcilerOptions {
  client: KubeClient;
  caches: ModelCaches;
  defaults: OperatorDefaults;
  events: EventRecorder;
  metrics: AIModelMetrics;
  clock: Clock;
}

interface ChildKind {
  name: 'Deployment' | 'Service' | 'HorizontalPodAutoscaler' | 'PodDisruptionBudget' | 'PersistentVolumeClaim';
  type: ResourceType;
  cache: (c: ModelCaches) => CacheReader<Child>;
  /** PVCs hold model weights: the operator never deletes one; garbage collection does with the model. */
  deletable: boolean;
}

// Apply order matters: the Deployment takes back `replicas` before the HPA it replaces is deleted.
const childKinds: ChildKind[] = [
  { name: 'PersistentVolumeClaim', type: PersistentVolumeClaims, cache: (c) => c.pvcs, deletable: false },
  { name: 'Deployment', type: Deployments, cache: (c) => c.deployments, deletable: true },
  { name: 'Service', type: Services, cache: (c) => c.services, deletable: true },
  { name: 'HorizontalPodAutoscaler', type: HorizontalPodAutoscalers, cache: (c) => c.hpas, deletable: true },
  { name: 'PodDisruptionBudget', type: PodDisruptionBudgets, cache: (c) => c.pdbs, deletable: true },
];

function canonicalEqual(a: unknown, b: unknown): boolean {
  return intentHash(a ?? null) === intentHash(b ?? null);
}

/** True when this field manager's last apply set spec.replicas of the object. */
export function appliedReplicas(obj: { metadata: { managedFields?: unknown[] } }, manager: string): boolean {
  return (obj.metadata.managedFields ?? []).some((entry) => {
    const e = entry as { manager?: string; operation?: string; fieldsV1?: { 'f:spec'?: Record<string, unknown> } };
    return e.manager === manager && e.operation === 'Apply' && e.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined;
  });
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
    if (!live) {
      // Deleted: owner references let the garbage collector remove the children.
      return {};
    }
    if (live.metadata.deletionTimestamp) return {};
    const model: ModelObject = { ...live, apiVersion: API_VERSION, kind: KIND };

    const parsed = parseAIModel(model);
    if (!parsed.ok) {
      const invalid = parsed.problems.map((p) => ({ field: p.path, message: p.message }));
      ctx.log.warn({ problems: invalid }, 'invalid AIModel spec; children left as they are');
      const status = this.status(model, undefined, undefined, { invalid });
      await this.writeStatus(model, status, ctx);
      metrics.outcome('InvalidSpec');
      return {};
    }

    const children = desiredChildren(parsed.model, this.options.defaults);
    let childError: { reason: string; message: string } | undefined = await this.checkStorage(parsed.model, ctx);
    let requeueAfterMs: number | undefined;
    if (!childError) {
      const outcome = await this.applyChildren(model, parsed.model, children as unknown as Record<string, Child | undefined>, ctx);
      childError = outcome.refused;
      requeueAfterMs = outcome.requeueAfterMs;
    }

    const status = this.status(model, parsed.model, children, { childError });
    await this.writeStatus(model, status, ctx);
    metrics.outcome(status.conditions?.find((c) => c.type === 'Ready')?.reason ?? 'Unknown');
    return requeueAfterMs !== undefined ? { requeueAfterMs } : {};
  }

  /** An existing claim is the user's: report a missing one instead of creating pods that cannot start. */
  private async checkStorage(model: AIModel, ctx: ReconcileContext): Promise<{ reason: string; message: string } | undefined> {
    const claim = model.spec.storage?.existingClaim?.claimName;
    if (!claim) return undefined;
    const pvc = await this.options.client.find(PersistentVolumeClaims, model.metadata.namespace, claim, ctx.signal);
    if (pvc) return undefined;
    const message = `spec.storage.existingClaim.claimName: PersistentVolumeClaim "${claim}" does not exist in namespace ${model.metadata.namespace}`;
    return { reason: 'StorageClaimNotFound', message };
  }

  private async applyChildren(
    model: ModelObject,
    typed: AIModel,
    children: Record<string, Child | undefined>,
    ctx: ReconcileContext,
  ): Promise<{ refused?: { reason: string; message: string }; requeueAfterMs?: number }> {
    const { client, caches, events } = this.options;
    let requeueAfterMs: number | undefined;
    const created: string[] = [];
    const updated: string[] = [];
    const namespace = model.metadata.namespace!;
    const wanted = new Map<string, Child>();
    for (const child of Object.values(children)) if (child) wanted.set(child.kind!, child);
    let refused: { reason: string; message: string } | undefined;

    for (const kind of childKinds) {
      const intent = wanted.get(kind.name);
      const cache = kind.cache(caches);
      if (!intent) {
        if (!kind.deletable) continue;
        // Anything of this kind this model controls is no longer wanted.
        for (const obj of cache.byIndex('controller', model.metadata.uid ?? '')) {
          if (obj.metadata.namespace !== namespace) continue;
          const deleted = await client.delete(kind.type, namespace, obj.metadata.name, {
            propagationPolicy: 'Background',
            preconditions: { uid: obj.metadata.uid! },
            signal: ctx.signal,
          }).catch((err: unknown) => {
            if (err instanceof ApiError && err.status === 409) return false; // replaced meanwhile
            throw err;
          });
          if (deleted) {
            events.record(model, 'Normal', 'Deleted', `Deleted ${kind.name} ${obj.metadata.name}`);
            ctx.log.info({ kind: kind.name, child: obj.metadata.name }, 'deleted child');
          }
        }
        continue;
      }
      let stamped = withIntentHash(intent);
      const current = cache.get(namespace, intent.metadata.name);
      if (upToDate(stamped, current)) continue;
      const childKey = `${kind.name}/${namespace}/${intent.metadata.name}`;
      if (current && sameIntent(stamped, current)) {
        // The intent did not change, the object did: another writer changed fields we own.
        const waitMs = this.drift.admit(childKey);
        if (waitMs > 0) {
          requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, waitMs);
          continue;
        }
        await this.reportDrift(model, kind, intent.metadata.name, childKey, ctx);
      }
      try {
        if (kind.name === 'Deployment' && stamped.spec?.replicas === undefined) {
          if (current) await this.handReplicasToHpa(typed, current, ctx);
          // A new autoscaled Deployment starts at spec.replicas (within the bounds), not at the
          // API default of 1; the HPA takes over from there.
          else stamped = { ...stamped, spec: { ...stamped.spec, replicas: initialAutoscaledReplicas(typed) } };
        }
        await client.apply(stamped, { fieldManager, force: true, signal: ctx.signal });
      } catch (err) {
        // The API server refused the object (e.g. a field the schema could not catch): report
        // it and go on with the other children; anything else is retried by the queue.
        if (isRefusal(err)) {
          const message = `${kind.name} ${intent.metadata.name} was refused by the API server: ${(err as Error).message}`;
          events.record(model, 'Warning', 'ApplyFailed', message);
          refused ??= { reason: `${kind.name}Refused`, message };
          continue;
        }
        events.record(model, 'Warning', 'ApplyFailed', `${kind.name} ${intent.metadata.name}: ${err instanceof Error ? err.message : String(err)}`);
        throw err;
      }
      const verb = current ? 'Updated' : 'Created';
      (verb === 'Created' ? created : updated).push(`${kind.name} ${intent.metadata.name}`);
      ctx.log.info({ kind: kind.name, child: intent.metadata.name, verb }, 'applied child');
    }
    // One Event per verb and reconcile: a new model's children cost one write, not one each.
    if (created.length > 0) events.record(model, 'Normal', 'Created', `Created ${created.join(', ')}`);
    if (updated.length > 0) events.record(model, 'Normal', 'Updated', `Updated ${updated.join(', ')}`);
    return { ...(refused ? { refused } : {}), ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
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

  /**
   * When autoscaling starts, the operator's intent stops naming `replicas`. If its last apply
   * owned the field, dropping it would reset replicas to 1 before the HPA acts (the dip KServe
   * and the NIM Operator shipped). A second field manager first applies the current count, so
   * the field keeps an owner and its value until the HPA writes its own.
   */
  private async handReplicasToHpa(model: AIModel, current: Child, ctx: ReconcileContext): Promise<void> {
    const { client } = this.options;
    const full = await client.find<Child>(Deployments, current.metadata.namespace, current.metadata.name, ctx.signal);
    if (!full || !appliedReplicas(full, fieldManager)) return;
    const now = Number(full.spec?.replicas ?? 0);
    const replicas = now > 0 ? clampToBounds(model, now) : initialAutoscaledReplicas(model);
    await client.apply(
      { apiVersion: Deployments.apiVersion, kind: Deployments.kind, metadata: { name: full.metadata.name, namespace: full.metadata.namespace }, spec: { replicas } },
      { fieldManager: handoverFieldManager, force: true, signal: ctx.signal },
    );
    ctx.log.info({ replicas }, 'handed Deployment replicas over to the HorizontalPodAutoscaler');
  }

  private status(
    model: ModelObject,
    typed: AIModel | undefined,
    children: DesiredChildren | undefined,
    extra: { invalid?: { field: string; message: string }[]; childError?: { reason: string; message: string } | undefined },
  ): ModelStatus {
    const { caches, clock } = this.options;
    const namespace = model.metadata.namespace!;
    const name = model.metadata.name;
    // A stored status is only trusted when it fits the schema: anything could have written it.
    const stored = AIModelStatusSchema.safeParse(model.status);
    const previous = stored.success ? (stored.data as ModelStatus | undefined) : undefined;
    const deploymentName = children?.deployment?.metadata.name;
    const hpaName = children?.hpa?.metadata.name;
    const spec = (typed?.spec ?? {}) as Partial<AIModel['spec']>;
    return computeStatus({
      generation: model.metadata.generation ?? 0,
      suspended: spec.suspend ?? false,
      autoscaling: spec.autoscaling !== undefined,
      specReplicas: spec.replicas ?? 1,
      selector: typed ? selectorString(children?.deployment as Child | undefined) : (previous?.selector ?? ''),
      endpoint: typed ? endpointOf(children?.service as Child | undefined, namespace) : (previous?.endpoint ?? ''),
      ...(extra.invalid ? { invalid: extra.invalid } : {}),
      ...(extra.childError ? { childError: extra.childError } : {}),
      ...(deploymentName ? { deployment: caches.deployments.get(namespace, deploymentName) as never } : {}),
      ...(hpaName ? { hpa: caches.hpas.get(namespace, hpaName) as never } : {}),
      pods: caches.pods.byIndex(podsByModelIndex, `${namespace}/${name}`),
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
      await client.patch(AIModels, model.metadata.namespace, model.metadata.name, { status }, { kind: 'merge', subresource: 'status', fieldManager, signal: ctx.signal });
    }
    if (after && (before?.status !== after.status || before.reason !== after.reason)) {
      const type = after.status === 'True' || after.reason === 'Suspended' ? 'Normal' : 'Warning';
      const quiet = after.reason === 'Creating' || after.reason === 'WaitingForReplicas';
      if (!quiet) this.options.events.record(model, type, after.reason, after.message);
      ctx.log.info({ phase: status.phase, ready: after.status, reason: after.reason }, 'status changed');
    }
  }
}

/**
 * The API server refused the object itself (not the request's timing): invalid (400/422), or a
 * body server-side apply cannot convert to its typed form (500 "typed patch"/"convert"), as
 * happens with junk inside a schemaless field. Retrying cannot help; the status says why.
 */
function isRefusal(err: unknown): err is ApiError {
  if (!(err instanceof ApiError)) return false;
  return err.status === 400 || err.status === 422 || (err.status === 500 && /typed|convert/i.test(err.message));
}

/** True when the live object carries the hash of this very intent: it was applied unchanged. */
function sameIntent(stamped: Child, live: Child): boolean {
  return live.metadata.annotations?.[intentHashAnnotation] === stamped.metadata.annotations?.[intentHashAnnotation];
}

function clampToBounds(model: AIModel, replicas: number): number {
  const bounds = model.spec.autoscaling;
  return bounds ? Math.min(bounds.maxReplicas, Math.max(bounds.minReplicas, replicas)) : replicas;
}

function initialAutoscaledReplicas(model: AIModel): number {
  return clampToBounds(model, model.spec.replicas ?? model.spec.autoscaling?.minReplicas ?? 1);
}

function stripUndefined<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function selectorString(deployment: Child | undefined): string {
  const labels = (deployment?.spec?.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels ?? {};
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

function endpointOf(service: Child | undefined, namespace: string): string {
  if (!service) return '';
  const port = (service.spec?.ports as { port: number }[] | undefined)?.[0]?.port;
  return `http://${service.metadata.name}.${namespace}.svc.cluster.local${port ? `:${port}` : ''}`;
}
