// Deciding whether a server-side apply would change anything, without sending it.
//
// An apply that changes nothing still costs a write request, and an operator that writes on
// every resync does not scale. Two checks together say "nothing to do":
//  - the intent hash recorded on the object equals the hash of the new intent, so no field the
//    operator used to set has been dropped from the intent (a subset check alone misses removals);
//  - every field of the intent has the same value on the live object, so nobody changed a field
//    the operator owns (drift). Fields the API server defaults or others own are ignored.
import { createHash } from 'node:crypto';
import { quantityValue } from './quantity.ts';

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

function isEmpty(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    (Array.isArray(value) && value.length === 0) ||
    (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0)
  );
}

/**
 * True when every field set in `intent` has an equal value in `live`. Quantities compare by value
 * (the API server canonicalises "0.5" to "500m"), and empty lists or maps, zeros, false and
 * empty strings equal absent ones (the API server drops them). Lists must have the same length, compared element by element.
 */
export function satisfies(intent: unknown, live: unknown): boolean {
  if (isEmpty(intent)) return isEmpty(live) || intent === live || (typeof intent === 'object' && typeof live === 'object');
  if (Array.isArray(intent)) {
    return Array.isArray(live) && live.length === intent.length && intent.every((item, i) => satisfies(item, live[i]));
  }
  if (typeof intent === 'object') {
    if (!live || typeof live !== 'object' || Array.isArray(live)) return false;
    return Object.entries(intent as Record<string, unknown>).every(([k, v]) => satisfies(v, (live as Record<string, unknown>)[k]));
  }
  if (intent === live) return true;
  // Go's omitempty drops zero values: the server never returns initialDelaySeconds: 0.
  if (live === undefined && (intent === 0 || intent === false || intent === '')) return true;
  if (typeof intent === 'string' && typeof live === 'string') {
    const a = quantityValue(intent);
    const b = quantityValue(live);
    return a !== undefined && b !== undefined && Math.abs(a - b) <= Math.abs(a) * 1e-12;
  }
  if (typeof intent === 'number' && typeof live === 'string') return quantityValue(live) === intent;
  if (typeof intent === 'string' && typeof live === 'number') return quantityValue(intent) === live;
  return false;
}

/** Stamps the intent with the hash of itself, so the next reconcile can tell what it last applied. */
export function withIntentHash<T extends { metadata: object }>(intent: T): T {
  const hash = intentHash(intent);
  const metadata = intent.metadata as { annotations?: Record<string, string> };
  return { ...intent, metadata: { ...metadata, annotations: { ...metadata.annotations, [intentHashAnnotation]: hash } } };
}

/** True when applying `stampedIntent` (from withIntentHash) to `live` would change nothing. */
export function upToDate(stampedIntent: { metadata: object }, live: unknown): boolean {
  if (!live) return false;
  const hashOf = (o: unknown) => (o as { metadata?: { annotations?: Record<string, string> } }).metadata?.annotations?.[intentHashAnnotation];
  return hashOf(live) === hashOf(stampedIntent) && satisfies(stampedIntent, live);
}
