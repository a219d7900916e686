// Deciding whether a server-side apply would change anything, without sending it.
//
// An apply that changes nothing still costs a write request, and an operator that writes on
// every resync does not scale. Two checks together say "nothing to do":
//  - the intent hash recorded on the object equals the hash of the new intent, so no field the
//    operator used to set has been dropped from the intent (a subset check alone misses removals);
//  - the operator's field manager still owns every field of the intent, so nobody changed a field
//    the operator set (drift; see ownership.ts). Fields the API server defaults or others own,
//    including other managers' elements of lists merged by key, are no drift.
import { createHash } from 'node:crypto';
import { ownsIntent } from './ownership.ts';

export const intentHashAnnotation = 'ai.openai.com/applied-intent';

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** A short, stable hash of an apply intent (key order does not matter). */
export function intentHash(intent: unknown): string {
  return createHash('sha256').update(JSON.stringify(canonical(intent))).digest('base64url').slice(0, 22);
}

/** Stamps the intent with the hash of itself, so the next reconcile can tell what it last applied. */
export function withIntentHash<T extends { metadata: object }>(intent: T): T {
  const hash = intentHash(intent);
  const metadata = intent.metadata as { annotations?: Record<string, string> };
  return { ...intent, metadata: { ...metadata, annotations: { ...metadata.annotations, [intentHashAnnotation]: hash } } };
}

/**
 * True when applying `stampedIntent` (from withIntentHash) as `manager` would change nothing: the
 * live object carries this intent's hash and the manager still owns every field of it.
 */
export function upToDate(stampedIntent: { metadata: object }, live: unknown, manager: string): boolean {
  if (!live) return false;
  const hashOf = (o: unknown) => (o as { metadata?: { annotations?: Record<string, string> } }).metadata?.annotations?.[intentHashAnnotation];
  return hashOf(live) === hashOf(stampedIntent) && ownsIntent(stampedIntent as Record<string, unknown>, live as { metadata?: { managedFields?: unknown[] } }, manager);
}
