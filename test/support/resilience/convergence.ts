// What "converged" means, checked from the outside against the API server: every AIModel's
// status describes its current generation, each wanted child exists exactly once, is controlled
// by its model and carries the current intent (no stale spec), no unwanted child is left, and no
// child of the operator's is orphaned. Also: varied models to create and changes to churn them.
import { API_VERSION, KIND, parseAIModel } from '../../../src/api/v1/aimodel.ts';
import { fieldManager } from '../../../src/controllers/aimodel/handover.ts';
import { AIModels } from '../../../src/controllers/aimodel/setup.ts';
import { desiredChildren } from '../../../src/desired/children.ts';
import { DEFAULT_OPERATOR_DEFAULTS } from '../../../src/desired/defaults.ts';
import type { OperatorDefaults } from '../../../src/desired/defaults.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import { upToDate, withIntentHash } from '../../../src/kube/intent.ts';
import { Deployments, HorizontalPodAutoscalers, PersistentVolumeClaims, PodDisruptionBudgets, Services } from '../../../src/kube/resources.ts';
import type { ResourceType } from '../../../src/kube/resources.ts';
import type { KubeObject } from '../../../src/kube/types.ts';
import type { Rng } from './rng.ts';

export type Obj = KubeObject & { spec?: any; status?: any };
type Condition = { type: string; status: string; reason?: string; message?: string };

const childTypes: { key: 'deployment' | 'service' | 'hpa' | 'pdb' | 'pvc'; type: ResourceType; deletable: boolean }[] = [
  { key: 'deployment', type: Deployments, deletable: true },
  { key: 'service', type: Services, deletable: true },
  { key: 'hpa', type: HorizontalPodAutoscalers, deletable: true },
  { key: 'pdb', type: PodDisruptionBudgets, deletable: true },
  { key: 'pvc', type: PersistentVolumeClaims, deletable: false },
];

export interface Inspection {
  models: number;
  converged: number;
  children: number;
  /** Human-readable violations, one per model and problem. */
  problems: string[];
  /** Invariants that must hold at every instant, not only eventually. */
  duplicates: string[];
}

export interface InspectOptions {
  /** Also require Ready=True for models that should run pods. */
  ready?: boolean;
  /** Tolerate children of deleted models (the garbage collector's work, not the operator's). */
  allowOrphans?: boolean;
  defaults?: OperatorDefaults;
}

export function readyCondition(m: Obj): Condition | undefined {
  return (m.status?.conditions as Condition[] | undefined)?.find((c) => c.type === 'Ready');
}

/** Checks one namespace against the convergence invariants. */
export async function inspect(client: KubeClient, namespace: string, options: InspectOptions = {}): Promise<Inspection> {
  const defaults = options.defaults ?? DEFAULT_OPERATOR_DEFAULTS;
  const [models, ...childLists] = await Promise.all([
    client.listAll<Obj>(AIModels, { namespace }),
    ...childTypes.map(async (c) =>
      // List items carry no apiVersion and kind; the objects a GET returns do.
      (await client.listAll<Obj>(c.type, { namespace, labelSelector: 'app.kubernetes.io/managed-by=aimodel-operator' })).map((o) => ({ apiVersion: c.type.apiVersion, kind: c.type.kind, ...o })),
    ),
  ]);
  const problems: string[] = [];
  const duplicates: string[] = [];
  const liveUids = new Set(models.map((m) => m.metadata.uid));
  let children = 0;
  for (const [i, list] of childLists.entries()) {
    children += list.length;
    for (const child of list) {
      const owner = child.metadata.ownerReferences?.find((r) => r.controller);
      if ((!owner || !liveUids.has(owner.uid)) && !options.allowOrphans) problems.push(`orphan ${childTypes[i]!.type.kind} ${child.metadata.name} (controller ${owner?.uid ?? 'none'})`);
    }
  }
  let converged = 0;
  for (const m of models) {
    if (m.metadata.deletionTimestamp) continue;
    const before = problems.length;
    const name = m.metadata.name;
    const generation = m.metadata.generation ?? 0;
    if (m.status?.observedGeneration !== generation) problems.push(`${name}: status.observedGeneration ${m.status?.observedGeneration} != generation ${generation}`);
    const parsed = parseAIModel({ ...m, apiVersion: API_VERSION, kind: KIND });
    const owned = childLists.map((list) => list.filter((c) => c.metadata.ownerReferences?.some((r) => r.controller && r.uid === m.metadata.uid)));
    if (!parsed.ok) {
      if (readyCondition(m)?.reason !== 'InvalidSpec') problems.push(`${name}: invalid spec not reported (Ready ${JSON.stringify(readyCondition(m))})`);
      if (problems.length === before) converged++;
      continue;
    }
    // A model waiting for the user's claim rightly has no children yet; its status says why.
    const waitingForClaim = readyCondition(m)?.reason === 'StorageClaimNotFound';
    const desired = waitingForClaim ? {} : (desiredChildren(parsed.model, defaults) as Record<string, Obj | undefined>);
    for (const [i, c] of childTypes.entries()) {
      const live = owned[i]!;
      const intent = desired[c.key];
      if (live.length > 1) duplicates.push(`${name}: ${live.length} ${c.type.kind}s (${live.map((o) => o.metadata.name).join(', ')})`);
      if (!intent) {
        if (c.deletable && live.length > 0) problems.push(`${name}: unwanted ${c.type.kind} ${live.map((o) => o.metadata.name).join(', ')} left behind`);
        continue;
      }
      const match = live.find((o) => o.metadata.name === intent.metadata.name);
      if (!match) problems.push(`${name}: ${c.type.kind} ${intent.metadata.name} missing`);
      else if (!upToDate(withIntentHash(intent), match, fieldManager)) problems.push(`${name}: ${c.type.kind} ${intent.metadata.name} is stale (does not carry the current spec)`);
    }
    if (options.ready) {
      const ready = readyCondition(m);
      const spec = parsed.model.spec;
      const wantsPods = !spec.suspend && (spec.autoscaling !== undefined || (spec.replicas ?? 1) > 0);
      const expected = spec.suspend ? 'Suspended' : wantsPods ? 'ModelReady' : 'ScaledToZero';
      if (ready?.reason !== expected) problems.push(`${name}: Ready is ${ready?.status}/${ready?.reason}, want ${expected}`);
    }
    if (problems.length === before) converged++;
  }
  return { models: models.length, converged, children, problems, duplicates };
}

/**
 * Polls inspect() until the namespace has converged, and returns how long that took. Duplicates
 * fail at once: they must never exist, not merely disappear eventually.
 */
export async function waitConverged(
  client: KubeClient,
  namespace: string,
  options: InspectOptions & { timeoutMs: number; expectModels?: number; intervalMs?: number },
): Promise<{ ms: number; inspection: Inspection }> {
  const started = Date.now();
  let last: Inspection | undefined;
  for (;;) {
    last = await inspect(client, namespace, options);
    if (last.duplicates.length > 0) throw new Error(`duplicate children:\n${last.duplicates.slice(0, 20).join('\n')}`);
    const countOk = options.expectModels === undefined || last.models === options.expectModels;
    if (last.problems.length === 0 && countOk) return { ms: Date.now() - started, inspection: last };
    if (Date.now() - started > options.timeoutMs) {
      throw new Error(
        `not converged after ${options.timeoutMs} ms: ${last.converged}/${last.models} models converged, ${last.problems.length} problems:\n${last.problems.slice(0, 25).join('\n')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 1_000));
  }
}

/** A varied AIModel: autoscaled, fixed replicas, no PDB, suspended, Recreate strategy. */
export function variedModel(namespace: string, name: string, i: number): Obj {
  const spec: Record<string, unknown> = { model: `model-${i}`, image: 'example.com/inference:v1' };
  switch (i % 10) {
    case 0:
    case 1:
      spec.autoscaling = { minReplicas: 1, maxReplicas: 3 };
      break;
    case 2:
      spec.replicas = 2;
      break;
    case 3:
      spec.podDisruptionBudget = { enabled: false };
      break;
    case 4:
      spec.suspend = true;
      break;
    case 5:
      spec.strategy = { type: 'Recreate' };
      break;
    default:
      spec.replicas = 1;
  }
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec };
}

export async function createModels(client: KubeClient, models: Obj[], concurrency = 16): Promise<void> {
  await mapLimit(models, concurrency, (m) => client.create(m));
}

let revision = 1;

/** A random change to a model's spec, as a merge patch; returns what it did. */
export async function mutateModel(client: KubeClient, namespace: string, name: string, rng: Rng): Promise<string> {
  const current = await client.get<Obj>(AIModels, namespace, name);
  const spec = current.spec ?? {};
  const kind = rng.pick(['image', 'image', 'env', 'replicas', 'autoscaling', 'suspend', 'pdb'] as const);
  let patch: Record<string, unknown>;
  switch (kind) {
    case 'image':
      patch = { image: `example.com/inference:v${++revision}` };
      break;
    case 'env':
      patch = { env: [{ name: 'REVISION', value: String(++revision) }] };
      break;
    case 'replicas':
      patch = spec.autoscaling ? { autoscaling: { minReplicas: 1, maxReplicas: rng.int(2, 4) } } : { replicas: rng.int(1, 2) };
      break;
    case 'autoscaling':
      patch = spec.autoscaling ? { autoscaling: null, replicas: 1 } : { autoscaling: { minReplicas: 1, maxReplicas: 2 }, replicas: null };
      break;
    case 'suspend':
      patch = { suspend: !spec.suspend };
      break;
    case 'pdb':
      patch = { podDisruptionBudget: { enabled: spec.podDisruptionBudget?.enabled === false } };
      break;
  }
  await client.patch(AIModels, namespace, name, { spec: patch }, { kind: 'merge' });
  return `${name}: ${kind} ${JSON.stringify(patch)}`;
}

export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return results;
}
