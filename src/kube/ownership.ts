// Which fields of an object a field manager owns, read from its managedFields entry, in the
// terms server-side apply itself uses.
//
// Deciding drift by comparing values misjudges lists merged by key: another manager may add its
// own container, env var, volume or port (kubectl set env, a mutating admission policy), which
// server-side apply keeps beside the operator's elements and which is no drift at all. What the
// API server records is sharper: when another writer changes a value this manager set, the
// field's ownership moves to that writer (or the field disappears, as when an emptyDir volume
// source is replaced by a hostPath). So "every field of the intent is still owned by this
// manager" is exactly "no one changed what the operator asserts", whatever others added beside it.

/** A fieldsV1 node: `f:<field>`, `k:<json key>`, `v:<json value>`, `i:<index>` or `.` entries. */
export type FieldsV1 = { [key: string]: FieldsV1 };

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsV1?: FieldsV1;
}

/** The fields `manager` owns through server-side apply of the main resource (not a subresource). */
export function appliedFieldsOf(obj: { metadata?: { managedFields?: unknown[] } } | undefined, manager: string): FieldsV1 | undefined {
  const entries = (obj?.metadata?.managedFields ?? []) as ManagedFieldsEntry[];
  return entries.find((e) => e.manager === manager && e.operation === 'Apply' && !e.subresource)?.fieldsV1;
}

// Identity fields the API server never records in managedFields.
const untracked = new Set(['apiVersion', 'kind']);
const untrackedMetadata = new Set(['name', 'namespace']);

function looselyEqual(a: unknown, b: unknown): boolean {
  return a === b || (a !== null && b !== null && typeof a !== 'object' && typeof b !== 'object' && String(a) === String(b));
}

/** The fieldsV1 entry of a list element: by its merge key (`k:`), by value (`v:`), or by position. */
function elementNode(node: FieldsV1, item: unknown, index: number): FieldsV1 | undefined {
  for (const [key, child] of Object.entries(node)) {
    if (key.startsWith('k:')) {
      if (!item || typeof item !== 'object') continue;
      const mergeKey = JSON.parse(key.slice(2)) as Record<string, unknown>;
      // A key field the intent leaves out was defaulted by the server (a port's protocol).
      const matches = Object.entries(mergeKey).every(([k, v]) => !(k in (item as object)) || looselyEqual((item as Record<string, unknown>)[k], v));
      if (matches) return child;
    } else if (key.startsWith('v:')) {
      if (looselyEqual(JSON.parse(key.slice(2)), item) || JSON.stringify(JSON.parse(key.slice(2))) === JSON.stringify(item)) return child;
    } else if (key === `i:${index}`) {
      return child;
    }
  }
  return undefined;
}

function owns(intent: unknown, node: FieldsV1 | undefined): boolean {
  // null in an apply removes a field; absent ones assert nothing.
  if (intent === undefined || intent === null) return true;
  if (node === undefined) return false;
  // A node with no entries is a member of the set itself: an atomic value (a scalar, an atomic
  // list or map such as args or a selector, a whole ownerReference) owned as one. Fields whose
  // last owned leaf another writer took disappear from the set altogether.
  if (Object.keys(node).length === 0) return true;
  if (Array.isArray(intent)) return intent.every((item, i) => owns(item, elementNode(node, item, i)));
  if (typeof intent === 'object') {
    return Object.entries(intent as Record<string, unknown>).every(([name, value]) => owns(value, node[`f:${name}`]));
  }
  return true;
}

/**
 * True when `manager` owns every field `intent` sets on the live object. False when it owns
 * none, or another writer took over or removed any of them.
 */
export function ownsIntent(intent: { metadata?: object } & Record<string, unknown>, live: { metadata?: { managedFields?: unknown[] } } | undefined, manager: string): boolean {
  const fields = appliedFieldsOf(live, manager);
  if (!fields) return false;
  const { metadata, ...rest } = intent;
  const body = Object.fromEntries(Object.entries(rest).filter(([k]) => !untracked.has(k)));
  const meta = Object.fromEntries(Object.entries((metadata ?? {}) as Record<string, unknown>).filter(([k]) => !untrackedMetadata.has(k)));
  return owns(Object.keys(meta).length > 0 ? { ...body, metadata: meta } : body, fields);
}

// Keeping a field manager's set in the informer caches without paying for it per object: the
// sets of children of the same shape are the same but for owner uids (values are never in a
// set), so with those folded the sets of thousands of models are a handful of shapes, stored
// once each.
const maxShapes = 4096;
const shapes = new Map<string, FieldsV1>();

/** The set with every ownerReference folded into one atomic member: identity is checked apart. */
function foldOwnerReferences(fields: FieldsV1): FieldsV1 {
  const metadata = fields['f:metadata'];
  if (!metadata?.['f:ownerReferences']) return fields;
  return { ...fields, 'f:metadata': { ...metadata, 'f:ownerReferences': {} } };
}

function sharedShape(fields: FieldsV1): FieldsV1 {
  const key = JSON.stringify(foldOwnerReferences(fields));
  let shape = shapes.get(key);
  if (shape === undefined) {
    if (shapes.size >= maxShapes) shapes.delete(shapes.keys().next().value!);
    shape = JSON.parse(key) as FieldsV1;
    shapes.set(key, shape);
  }
  return shape;
}

/**
 * An informer transform that keeps, of metadata.managedFields, only `manager`'s apply entry,
 * its set shared with every object of the same shape: what ownsIntent reads, and nothing else.
 */
export function keepAppliedFields(manager: string): <T extends { metadata: { managedFields?: unknown[] } }>(obj: T) => T {
  return (obj) => {
    const { managedFields, ...metadata } = obj.metadata;
    if (managedFields === undefined) return obj;
    const fields = appliedFieldsOf(obj, manager);
    const kept = fields ? [{ manager, operation: 'Apply', fieldsV1: sharedShape(fields) }] : undefined;
    return { ...obj, metadata: kept ? { ...metadata, managedFields: kept } : metadata };
  };
}

export interface JsonPatchOperation {
  op: 'replace' | 'test';
  path: string;
  value: unknown;
}

const pointer = (segments: (string | number)[]) => `/${segments.map((s) => String(s).replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`;

/** The index in `live` of the element a fieldsV1 element key (`k:` or `i:`) names. */
function liveIndex(live: unknown[], key: string): number {
  if (key.startsWith('i:')) return Number(key.slice(2));
  if (!key.startsWith('k:')) return -1;
  const mergeKey = JSON.parse(key.slice(2)) as Record<string, unknown>;
  return live.findIndex((item) => item !== null && typeof item === 'object' && Object.entries(mergeKey).every(([f, v]) => looselyEqual((item as Record<string, unknown>)[f], v)));
}

function replacements(intent: unknown, live: unknown, node: FieldsV1 | undefined, path: (string | number)[], out: JsonPatchOperation[]): void {
  if (node === undefined || Object.keys(node).length === 0 || intent === null || typeof intent !== 'object' || live === null || typeof live !== 'object') return;
  if (Array.isArray(intent)) {
    if (!Array.isArray(live)) return;
    intent.forEach((item, i) => {
      const elementKey = Object.keys(node).find((k) => node[k] === elementNode(node, item, i));
      const element = elementKey === undefined ? undefined : node[elementKey];
      if (element === undefined || owns(item, element)) return;
      const index = liveIndex(live, elementKey!);
      if (index < 0) return;
      const before = out.length;
      replacements(item, live[index], element, [...path, index], out);
      // Nothing deeper to replace: the element itself holds another writer's conflicting field.
      if (out.length === before) out.push({ op: 'replace', path: pointer([...path, index]), value: item });
    });
    return;
  }
  for (const [name, value] of Object.entries(intent as Record<string, unknown>)) {
    replacements(value, (live as Record<string, unknown>)[name], node[`f:${name}`], [...path, name], out);
  }
}

/**
 * A JSON patch that puts back, whole, each element of a list merged by key in which `manager`
 * lost a field of its intent, conditional on the live object's resourceVersion. For the case a
 * forced apply cannot mend: another writer replaced a value by a sibling field of its own (an
 * emptyDir turned into a hostPath leaves both sources on the volume once the apply restores the
 * emptyDir, which the API server refuses). Empty when no such element exists.
 */
export function replaceDriftedElements(
  intent: object,
  live: { metadata: { resourceVersion?: string; managedFields?: unknown[] } },
  manager: string,
): JsonPatchOperation[] {
  const fields = appliedFieldsOf(live, manager);
  if (!fields) return [];
  const ops: JsonPatchOperation[] = [];
  const { apiVersion: _a, kind: _k, metadata: _m, ...body } = intent as Record<string, unknown>;
  replacements(body, live, fields, [], ops);
  return ops.length === 0 ? [] : [{ op: 'test', path: '/metadata/resourceVersion', value: live.metadata.resourceVersion }, ...ops];
}
