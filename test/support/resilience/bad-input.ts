// Bad input for the reconciler: arbitrary AIModels, valid and invalid, including objects that
// bypassed the schema (an older CRD stored them, or a backup was restored straight into etcd),
// and a harness that runs the real AIModelReconciler on one object with in-memory caches and a
// client that records (or dry-runs) every write.
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { API_VERSION, KIND, parseAIModel } from '../../../src/api/v1/aimodel.ts';
import { arbitraryAIModelInput } from '../../../src/api/v1/arbitrary.ts';
import { DNS1123_LABEL, isDns1035Label, isLabelValue, isQualifiedName } from '../../../src/api/v1/formats.ts';
import { AIModelMetrics } from '../../../src/controllers/aimodel/metrics.ts';
import { AIModelReconciler } from '../../../src/controllers/aimodel/reconciler.ts';
import type { ModelCaches, ModelObject } from '../../../src/controllers/aimodel/reconciler.ts';
import { DEFAULT_OPERATOR_DEFAULTS } from '../../../src/desired/defaults.ts';
import { userClaimName } from '../../../src/desired/deployment.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import type { EventRecorder } from '../../../src/kube/events.ts';
import type { KubeObject } from '../../../src/kube/types.ts';
import type { CacheReader } from '../../../src/runtime/cache.ts';
import { realClock } from '../../../src/runtime/clock.ts';
import { MemoryLogger } from '../../../src/runtime/logger.ts';

export type BadKind = 'valid' | 'mutated' | 'bad-metadata' | 'junk-spec' | 'oversized' | 'junk-status';

export interface BadInput {
  kind: BadKind;
  object: Record<string, any>;
}

const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ maxDepth: 2, maxKeys: 4, withNullPrototype: false, withBigInt: false, withDate: false, withMap: false, withSet: false, withTypedArray: false, withSparseArray: false, withBoxedValues: false }),
  fc.constantFrom(null, -1, 0, 2 ** 31, 2 ** 53, -(2 ** 53), 1.5, 1e300, '', ' ', '0', 'true', '🤖', 'a\u0000b', '../../etc', '${x}', '<script>', [], {}),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 300 }),
  fc.constant('x'.repeat(70_000)),
);

/** Every path into an object (keys and indices), for mutations. */
function paths(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (Array.isArray(value)) value.forEach((v, i) => (out.push([...prefix, i]), paths(v, [...prefix, i], out)));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) (out.push([...prefix, k]), paths(v, [...prefix, k], out));
  return out;
}

function mutate(obj: Record<string, any>, path: (string | number)[], op: 'replace' | 'delete' | 'extra', value: unknown): Record<string, any> {
  const copy = structuredClone(obj);
  let parent: any = copy;
  for (const key of path.slice(0, -1)) parent = parent[key];
  const last = path.at(-1)!;
  if (op === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else if (op === 'extra') {
    const target = parent[last];
    if (target && typeof target === 'object' && !Array.isArray(target)) target.unexpectedField = value;
    else parent[last] = value;
  } else parent[last] = value;
  return copy;
}

const valid = arbitraryAIModelInput() as fc.Arbitrary<Record<string, any>>;

const mutated = valid.chain((obj) => {
  const all = paths({ spec: obj.spec }).filter((p) => p.length > 1 || p[0] === 'spec');
  return fc.tuple(fc.constantFrom(...all), fc.constantFrom('replace' as const, 'replace' as const, 'delete' as const, 'extra' as const), junk).map(([path, op, value]) => mutate(obj, path, op, value));
});

/** Names an older CRD (without the CEL rules on metadata.name) would have stored. */
const badName = fc.oneof(
  fc.constantFrom('UPPER', 'dotted.name', '4o-agent', 'under_score', 'a'.repeat(51), 'b'.repeat(63), 'c'.repeat(64), 'd'.repeat(253), 'ünïcode', 'trailing-', '-leading', 'x y'),
  fc.string({ minLength: 1, maxLength: 80 }),
);

const badMetadata = fc.tuple(valid, badName, fc.option(fc.constantFrom('NS', 'n'.repeat(64), 'ns.dotted'), { nil: undefined })).map(([obj, name, namespace]) => ({
  ...obj,
  metadata: { ...obj.metadata, name, ...(namespace ? { namespace } : {}) },
}));

const junkSpec = fc.tuple(valid, fc.oneof(junk, fc.constant(undefined), fc.dictionary(fc.string({ maxLength: 12 }), junk, { maxKeys: 6 }))).map(([obj, spec]) => {
  const { spec: _drop, ...rest } = obj;
  return spec === undefined ? rest : { ...rest, spec };
});

/** Past every size limit of the schema: too many items, too long strings, too many labels. */
const oversized = fc.tuple(valid, fc.constantFrom('args', 'command', 'env', 'podLabels', 'podAnnotations', 'model', 'image')).map(([obj, field]) => {
  const spec = { ...obj.spec };
  switch (field) {
    case 'args':
      spec.args = Array.from({ length: 200 }, (_, i) => `--flag-${i}=${'v'.repeat(5000)}`);
      break;
    case 'command':
      spec.command = Array.from({ length: 40 }, () => 'c'.repeat(100));
      break;
    case 'env':
      spec.env = Array.from({ length: 200 }, (_, i) => ({ name: `E${i}`, value: 'e'.repeat(200) }));
      break;
    case 'podLabels':
      spec.podLabels = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`l${i}`, 'v'.repeat(64)]));
      break;
    case 'podAnnotations':
      spec.podAnnotations = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`example.com/a${i}`, 'a'.repeat(5000)]));
      break;
    case 'model':
      spec.model = 'm'.repeat(300);
      break;
    case 'image':
      spec.image = `registry.example.com/${'i'.repeat(600)}:1`;
      break;
  }
  return { ...obj, spec };
});

/** A status the operator did not write: an older version's, or a hand edit through /status. */
const junkStatus = fc.tuple(valid, fc.oneof(junk, fc.dictionary(fc.constantFrom('phase', 'conditions', 'replicas', 'selector', 'endpoint', 'observedGeneration', 'legacyField'), junk, { maxKeys: 4 }))).map(([obj, status]) => ({ ...obj, status }));

export function arbitraryBadInput(): fc.Arbitrary<BadInput> {
  const tag = (kind: BadKind) => (object: Record<string, any>): BadInput => ({ kind, object });
  return fc.oneof(
    { weight: 3, arbitrary: valid.map(tag('valid')) },
    { weight: 4, arbitrary: mutated.map(tag('mutated')) },
    { weight: 1, arbitrary: badMetadata.map(tag('bad-metadata')) },
    { weight: 1, arbitrary: junkSpec.map(tag('junk-spec')) },
    { weight: 1, arbitrary: oversized.map(tag('oversized')) },
    { weight: 1, arbitrary: junkStatus.map(tag('junk-status')) },
  );
}

/** What the API server would refuse in a child, checked without it (the 10,000-object run). */
export function childProblems(child: KubeObject & { spec?: any }, model: { metadata: { namespace?: string; uid?: string } }): string[] {
  const problems: string[] = [];
  const json = JSON.stringify(child);
  if (JSON.stringify(JSON.parse(json)) !== json) problems.push('does not survive JSON');
  if (/\bnull\b/.test(json) && /"(replicas|port|containerPort)":null/.test(json)) problems.push('null where a number belongs');
  const { name, namespace, labels, annotations, ownerReferences } = child.metadata;
  const nameOk = child.kind === 'Service' ? isDns1035Label(name) : name.length <= 63 && DNS1123_LABEL.test(name);
  if (!nameOk) problems.push(`name ${JSON.stringify(name)} is not a valid ${child.kind} name`);
  if (namespace !== model.metadata.namespace) problems.push(`namespace ${namespace} is not the model's`);
  for (const [k, v] of Object.entries(labels ?? {})) if (!isQualifiedName(k) || !isLabelValue(v)) problems.push(`label ${k}=${v}`);
  for (const k of Object.keys(annotations ?? {})) if (!isQualifiedName(k)) problems.push(`annotation key ${k}`);
  if (Buffer.byteLength(JSON.stringify(annotations ?? {})) > 256 * 1024) problems.push('annotations over 256 KiB');
  const owner = ownerReferences?.find((r) => r.controller);
  if (!owner || owner.uid !== model.metadata.uid || owner.kind !== KIND || owner.apiVersion !== API_VERSION) problems.push('no controller reference to the model');
  if (child.kind === 'Deployment') {
    const selector = child.spec?.selector?.matchLabels ?? {};
    const podLabels = child.spec?.template?.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(selector)) if (podLabels[k] !== v) problems.push(`selector ${k}=${v} does not select the pods`);
    for (const [k, v] of Object.entries(podLabels)) if (!isQualifiedName(k) || !isLabelValue(String(v))) problems.push(`pod label ${k}=${v}`);
    for (const [k] of Object.entries(child.spec?.template?.metadata?.annotations ?? {})) if (!isQualifiedName(k)) problems.push(`pod annotation key ${k}`);
    for (const c of child.spec?.template?.spec?.containers ?? []) {
      for (const e of c.env ?? []) if (typeof e.name !== 'string' || !/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(e.name)) problems.push(`env name ${e.name}`);
      for (const p of c.ports ?? []) if (!(Number.isInteger(p.containerPort) && p.containerPort >= 1 && p.containerPort <= 65535)) problems.push(`port ${p.containerPort}`);
    }
  }
  return problems;
}

export interface Recorded {
  applies: (KubeObject & { spec?: any })[];
  statuses: Record<string, any>[];
  deletes: string[];
  events: { type: string; reason: string; message: string }[];
}

class MapCache<T extends KubeObject> implements CacheReader<T> {
  readonly name: string;
  private readonly items: T[];
  constructor(name: string, items: T[] = []) {
    this.name = name;
    this.items = items;
  }
  get(namespace: string | undefined, name: string): T | undefined {
    return this.items.find((o) => o.metadata.name === name && (o.metadata.namespace ?? '') === (namespace ?? ''));
  }
  list(namespace?: string): T[] {
    return this.items.filter((o) => namespace === undefined || o.metadata.namespace === namespace);
  }
  byIndex(): T[] {
    return [];
  }
  hasSynced(): boolean {
    return true;
  }
}

/** The claim the model names as the user's (existingClaim or a pvc:// source), as the cache would hold it. */
function userClaimOf(live: ModelObject): KubeObject[] {
  const parsed = parseAIModel({ ...live, apiVersion: API_VERSION, kind: KIND });
  const name = parsed.ok ? userClaimName(parsed.model.spec) : undefined;
  return name === undefined ? [] : [{ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace: live.metadata.namespace } }];
}

/**
 * Runs the real reconciler once on `live` (as the model cache holds it) with empty child caches.
 * Writes go to `send` (a recorder, or the real API server as a dry-run); the reconcile's own
 * exceptions propagate.
 */
export async function reconcileOnce(
  live: ModelObject,
  send: { apply?: (obj: KubeObject & { spec?: any }, opts: { subresource?: string }) => Promise<unknown>; userClaimExists?: boolean } = {},
): Promise<Recorded> {
  const recorded: Recorded = { applies: [], statuses: [], deletes: [], events: [] };
  const client = {
    async apply(obj: KubeObject & { spec?: any; status?: any }, opts: { subresource?: string }) {
      if (opts.subresource === 'status') recorded.statuses.push(obj.status);
      else recorded.applies.push(obj);
      return (await send.apply?.(obj, opts)) ?? obj;
    },
    // No child exists yet: the model's first reconcile.
    async find() {
      return undefined;
    },
    async get() {
      throw Object.assign(new Error('not found'), { status: 404 });
    },
    async delete(_type: unknown, namespace: string, name: string) {
      recorded.deletes.push(`${namespace}/${name}`);
      return true;
    },
  } as unknown as KubeClient;
  const events: EventRecorder = { record: (_o, type, reason, message) => recorded.events.push({ type, reason, message }) };
  const caches: ModelCaches = {
    models: new MapCache('aimodels', [live]),
    deployments: new MapCache('deployments'),
    services: new MapCache('services'),
    hpas: new MapCache('hpas'),
    pdbs: new MapCache('pdbs'),
    pvcs: new MapCache('pvcs', send.userClaimExists ? userClaimOf(live) : []),
    pods: new MapCache('pods'),
  };
  const reconciler = new AIModelReconciler({
    client,
    caches,
    defaults: DEFAULT_OPERATOR_DEFAULTS,
    events,
    metrics: new AIModelMetrics(new Registry(), caches.models),
    clock: realClock,
  });
  await reconciler.reconcile(
    { namespace: String(live.metadata.namespace ?? ''), name: live.metadata.name },
    { signal: new AbortController().signal, log: new MemoryLogger() as never },
  );
  return recorded;
}
