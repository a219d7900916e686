// The bench's side of the API traffic: AIModel manifests, applying them concurrently the way
// `kubectl apply --server-side -f <folder>` does, and the floor: a bare client sending exactly
// the writes the operator sends for a new model, with no operator.
import { API_VERSION, KIND, parseAIModel } from '../../src/api/v1/aimodel.ts';
import { computeStatus } from '../../src/controllers/aimodel/status.ts';
import { fieldManager } from '../../src/controllers/aimodel/reconciler.ts';
import { desiredChildren } from '../../src/desired/children.ts';
import { DEFAULT_OPERATOR_DEFAULTS } from '../../src/desired/defaults.ts';
import { endpointFor, selectorLabels } from '../../src/desired/names.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { withIntentHash } from '../../src/kube/intent.ts';
import type { KubeObject } from '../../src/kube/types.ts';

export function modelName(i: number): string {
  return `bench-${String(i).padStart(5, '0')}`;
}

/** A cheap model: one replica (0 at large N), no autoscaling, default PDB; kwok runs its pod. */
export function modelManifest(name: string, namespace: string, replicas: number): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace, labels: { 'bench.ai.openai.com/run': namespace } },
    spec: { model: 'bench/tiny-model', replicas },
  } as KubeObject;
}

/** Runs fn over items with at most `concurrency` in flight; rejects on the first failure. */
export async function pool<T>(items: Iterable<T>, concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  const it = items[Symbol.iterator]();
  let failed: unknown;
  const worker = async (): Promise<void> => {
    for (let next = it.next(); !next.done && failed === undefined; next = it.next()) {
      try {
        await fn(next.value);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failed !== undefined) throw failed;
}

/** kubectl apply --server-side of one manifest; resolves with the stored object (uid, generation). */
export async function applyModel(client: KubeClient, manifest: KubeObject): Promise<KubeObject> {
  return client.apply(manifest, { fieldManager: 'kubectl', force: true });
}

/** A FIFO a producer pool feeds and a consumer pool drains; close() ends the consumers. */
export class Channel<T> {
  private readonly items: T[] = [];
  private readonly waiters: ((v: T | undefined) => void)[] = [];
  private closed = false;

  push(item: T): void {
    const w = this.waiters.shift();
    if (w) w(item);
    else this.items.push(item);
  }

  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  async take(): Promise<T | undefined> {
    if (this.items.length > 0) return this.items.shift();
    if (this.closed) return undefined;
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/**
 * The writes the operator makes for a new model, in its order: each desired child by
 * server-side apply (stamped with the intent hash, same field manager, force), then the status
 * through the status subresource, computed by the operator's own computeStatus for a model whose
 * Deployment is not yet in the cache, as on the operator's first reconcile.
 */
export async function floorWrites(client: KubeClient, stored: KubeObject): Promise<void> {
  const parsed = parseAIModel(stored);
  if (!parsed.ok) throw new Error(`the bench model does not parse: ${JSON.stringify(parsed.problems)}`);
  const model = parsed.model;
  const children = desiredChildren(model, DEFAULT_OPERATOR_DEFAULTS);
  for (const child of [children.pvc, children.deployment, children.service, children.hpa, children.pdb]) {
    if (child) await client.apply(withIntentHash(child) as unknown as KubeObject, { fieldManager, force: true });
  }
  const status = computeStatus({
    generation: model.metadata.generation ?? 0,
    suspended: model.spec.suspend,
    autoscaling: model.spec.autoscaling !== undefined,
    specReplicas: model.spec.replicas ?? 1,
    // As the reconciler writes it: the Deployment's matchLabels in their order.
    selector: Object.entries(selectorLabels(model)).map(([k, v]) => `${k}=${v}`).join(','),
    endpoint: endpointFor(model),
    pods: [],
    now: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  });
  await client.apply(
    { apiVersion: API_VERSION, kind: KIND, metadata: { name: model.metadata.name, namespace: model.metadata.namespace }, status } as KubeObject,
    { fieldManager, force: true, subresource: 'status' },
  );
}

/** The latency floor's write: the Deployment of a just-changed model, as the operator would apply it. */
export async function floorDeployment(client: KubeClient, stored: KubeObject): Promise<void> {
  const parsed = parseAIModel(stored);
  if (!parsed.ok) throw new Error(`the bench model does not parse: ${JSON.stringify(parsed.problems)}`);
  const { deployment } = desiredChildren(parsed.model, DEFAULT_OPERATOR_DEFAULTS);
  await client.apply(withIntentHash(deployment) as unknown as KubeObject, { fieldManager, force: true });
}
