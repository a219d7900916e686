// Scenario 7: bad input. fast-check generates AIModels, valid and invalid, including objects
// that bypass the schema (as a cluster with an older CRD holds them): 10,000 go through the real
// reconciler in-process, a seeded subset through the real API server (server-side dry-run create,
// then every child the reconciler would send is dry-run applied), and the schema-bypassing ones
// are written into etcd for the real operator process. The operator never throws out of a
// reconcile, never sends an invalid child, and reports an invalid spec on status with the field
// and the problem. Very large objects and unusual but valid names and labels are handled.
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import fc from 'fast-check';
import { API_VERSION, AIModelStatusSchema, KIND, parseAIModel } from '../../src/api/v1/aimodel.ts';
import { AIModels } from '../../src/controllers/aimodel/setup.ts';
import { ApiError } from '../../src/kube/errors.ts';
import { CoreEvents } from '../../src/kube/resources.ts';
import { intentHash } from '../../src/kube/intent.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { poll } from '../../hack/localcluster/cluster.ts';
import { arbitraryBadInput, childProblems, reconcileOnce } from '../support/resilience/bad-input.ts';
import type { BadInput } from '../support/resilience/bad-input.ts';
import { aimodelKey } from '../support/resilience/cluster.ts';
import { inspect, mapLimit, readyCondition, waitConverged } from '../support/resilience/convergence.ts';
import type { Obj } from '../support/resilience/convergence.ts';
import { countBy } from '../support/resilience/audit.ts';
import { useLedger } from '../support/resilience/ledger.ts';
import { useResilienceScenario } from '../support/resilience/scenario.ts';

const RUNS = Number(process.env.RESILIENCE_BAD_INPUT_RUNS ?? 10_000);
const API_RUNS = Number(process.env.RESILIENCE_BAD_INPUT_API_RUNS ?? 300);
const BYPASS = 25;
const SEED = Number(process.env.RESILIENCE_SEED ?? 20_251_127);
const ledger = useLedger('7 bad input');
ledger.figure('seed', SEED);
const scenario = useResilienceScenario();

/** What the model cache holds: JSON from the API server, with the metadata the informer keys on. */
function asLive(input: BadInput): Obj {
  const object = JSON.parse(JSON.stringify(input.object)) as Obj;
  return { ...object, metadata: { ...object.metadata, name: String(object.metadata?.name ?? 'unnamed'), uid: object.metadata?.uid ?? randomUUID() } };
}

/** A status the API server accepts: valid for the schema, and nothing the schema does not know. */
function statusProblem(status: unknown): string | undefined {
  const json = JSON.parse(JSON.stringify(status)) as unknown;
  const parsed = AIModelStatusSchema.safeParse(json);
  if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  if (intentHash(parsed.data) !== intentHash(json)) return `fields the schema does not know: ${JSON.stringify(json).slice(0, 300)}`;
  return undefined;
}

/** The first problem parseAIModel finds, as the status must name it: "field: problem". */
function firstProblem(live: Obj): string | undefined {
  const parsed = parseAIModel({ ...live, apiVersion: API_VERSION, kind: KIND });
  return parsed.ok ? undefined : `${parsed.problems[0]!.path}: ${parsed.problems[0]!.message}`;
}

describe('bad input', () => {
  it(`${RUNS} arbitrary objects through the reconciler: no throw, no invalid child, invalid specs reported`, async () => {
    // Every object is checked and every violation kept (not just the first), grouped by what
    // went wrong, so the report says how many of the 10,000 hit each problem.
    const kinds: Record<string, number> = {};
    const violations = new Map<string, { count: number; example: string }>();
    const violation = (what: string, input: BadInput) => {
      const v = violations.get(what) ?? { count: 0, example: JSON.stringify(input).slice(0, 400) };
      v.count++;
      violations.set(what, v);
    };
    let invalid = 0;
    let children = 0;
    for (const input of fc.sample(arbitraryBadInput(), { numRuns: RUNS, seed: SEED })) {
      kinds[input.kind] = (kinds[input.kind] ?? 0) + 1;
      const live = asLive(input);
      const problem = firstProblem(live);
      let recorded;
      try {
        recorded = await reconcileOnce(live, { userClaimExists: true });
      } catch (err) {
        const e = err as Error;
        violation(`reconcile threw ${e.name}: ${e.message.slice(0, 120)} at ${e.stack?.split('\n')[1]?.trim().replace(/^at /, '').replace(/\(?file:\/\/\/work\/main\//, '').replace(/\)$/, '')}`, input);
        continue;
      }
      if (recorded.statuses.length !== 1) violation('no status written', input);
      const bad = recorded.statuses[0] === undefined ? undefined : statusProblem(recorded.statuses[0]);
      if (bad) violation(`status the API server would refuse: ${bad.slice(0, 120)}`, input);
      if (problem !== undefined) {
        invalid++;
        if (recorded.applies.length || recorded.deletes.length) violation('children changed for an invalid spec', input);
        const ready = (recorded.statuses[0]?.conditions as { type: string; reason: string; message: string }[] | undefined)?.find((c) => c.type === 'Ready');
        if (ready?.reason !== 'InvalidSpec') violation(`invalid spec not reported (Ready reason ${ready?.reason})`, input);
        else if (!ready.message.includes(problem.slice(0, 200))) violation('status does not name the field and the problem', input);
      } else {
        const kindsSent = recorded.applies.map((a) => a.kind);
        if (!kindsSent.includes('Deployment') || !kindsSent.includes('Service')) violation(`valid spec without Deployment and Service (${kindsSent.join(',')})`, input);
        for (const child of recorded.applies) {
          children++;
          for (const p of childProblems(child, live)) violation(`invalid ${child.kind}: ${p.slice(0, 120)}`, input);
        }
      }
    }
    ledger.figure('in-process objects', RUNS);
    ledger.figure('in-process by kind', JSON.stringify(kinds));
    ledger.figure('in-process invalid / children checked', `${invalid}/${children}`);
    const found = [...violations].map(([what, v]) => `${v.count}x ${what}\n    e.g. ${v.example}`);
    ledger.figure('in-process violations', [...violations].map(([what, v]) => `${v.count}x ${what.slice(0, 90)}`).join(' | ') || 'none');
    expect(found).toEqual([]);
  });

  it(`${API_RUNS} of them through the API server: every child the reconciler sends passes a server-side dry-run`, async () => {
    const namespace = await scenario.cluster.newNamespace('dryrun');
    const inputs = fc.sample(arbitraryBadInput(), { numRuns: API_RUNS, seed: SEED + 1 });
    const refusedChildren: string[] = [];
    const threw: string[] = [];
    const outcome: Record<string, number> = {};
    let childrenSent = 0;
    await mapLimit(inputs, 6, async (input, i) => {
      const { uid: _uid, generation: _generation, namespace: _namespace, ...metadata } = (input.object.metadata ?? {}) as Record<string, unknown>;
      const { status: _status, ...rest } = input.object;
      const body = { ...rest, apiVersion: API_VERSION, kind: KIND, metadata: { ...metadata, name: `dry-${i}`, namespace } } as KubeObject;
      let stored: Obj;
      try {
        stored = await scenario.cluster.client.create<Obj>(body, { dryRun: true });
      } catch (err) {
        if (!(err instanceof ApiError) || err.status < 400 || err.status >= 500) throw err;
        outcome[`${input.kind}: refused`] = (outcome[`${input.kind}: refused`] ?? 0) + 1;
        return;
      }
      const accepted = firstProblem(stored) === undefined;
      outcome[`${input.kind}: ${accepted ? 'accepted' : 'accepted by the API server, invalid for the operator'}`] = (outcome[`${input.kind}: ${accepted ? 'accepted' : 'accepted by the API server, invalid for the operator'}`] ?? 0) + 1;
      // The reconciler, fed what the API server stored, sends every child to it as a dry-run.
      // A child the server refuses is recorded; so is a reconcile that throws (the queue would
      // retry it forever, and the model's status would never say why).
      const recorded = await reconcileOnce(stored, {
        userClaimExists: true,
        apply: async (child, opts) => {
          // The model was only dry-run created, so its status cannot be written: checked below.
          if (opts.subresource === 'status') return child;
          childrenSent++;
          try {
            return await scenario.cluster.client.apply(child, { fieldManager: 'aimodel-operator', force: true, dryRun: true });
          } catch (err) {
            refusedChildren.push(`${input.kind} dry-${i}: ${child.kind}: ${(err as Error).message.slice(0, 300)}`);
            throw err;
          }
        },
      }).catch((err: unknown) => {
        threw.push(`${input.kind} dry-${i}: ${(err as Error).message.slice(0, 300)}`);
        return undefined;
      });
      if (recorded) expect(statusProblem(recorded.statuses[0])).toBeUndefined();
    });
    ledger.figure('API objects by outcome', JSON.stringify(outcome));
    ledger.figure('children dry-run applied / refused', `${childrenSent}/${refusedChildren.length}`);
    ledger.figure('reconciles that threw', threw.length);
    if (refusedChildren.length) ledger.figure('first refused child', refusedChildren[0]!);
    expect(childrenSent).toBeGreaterThan(0);
    expect({ refusedChildren, threw }).toEqual({ refusedChildren: [], threw: [] });
  });

  it(`${BYPASS} objects the schema refuses, stored straight into etcd: the operator reports them and creates nothing`, async () => {
    const namespace = await scenario.cluster.newNamespace('bypass');
    const inputs = fc.sample(arbitraryBadInput().filter((b) => b.kind !== 'valid'), { numRuns: 400, seed: SEED + 2 });
    const stored: string[] = [];
    for (const input of inputs) {
      if (stored.length >= BYPASS) break;
      const name = `bypass-${stored.length}`;
      const object = { ...input.object, apiVersion: API_VERSION, kind: KIND };
      delete (object as { status?: unknown }).status;
      // Only what the API server itself refuses (an older CRD would have let it in).
      const refused = await scenario.cluster.client.create({ ...object, metadata: { name, namespace } } as KubeObject, { dryRun: true }).then(
        () => false,
        (err: unknown) => err instanceof ApiError && err.status >= 400 && err.status < 500,
      );
      if (!refused) continue;
      await scenario.cluster.etcdPut(aimodelKey(namespace, name), {
        ...object,
        metadata: { name, namespace, uid: randomUUID(), generation: 1, creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
      });
      stored.push(name);
    }
    expect(stored.length).toBe(BYPASS);
    ledger.figure('bypass kinds', JSON.stringify(countBy(inputs.slice(0, 400), (i) => i.kind)));
    const op = await scenario.startOperator({ namespaces: [namespace], logFile: join(scenario.cluster.dir, 'operator-bypass.log') });
    await op.waitReady();
    const unreported: string[] = [];
    await poll('every bypassing object to get a status, or an Event where the API server refuses any status', 120_000, async () => {
      const models = await scenario.cluster.client.listAll<Obj>(AIModels, { namespace });
      const events = await scenario.cluster.client.listAll<Obj & { reason?: string; message?: string; involvedObject?: { name?: string } }>(CoreEvents, { namespace });
      unreported.length = 0;
      for (const m of models) {
        const problem = firstProblem(m);
        const ready = readyCondition(m);
        if (problem === undefined) continue; // stored but valid for the operator: reconciled normally
        const reported = (reason: string | undefined, message: string | undefined) => reason === 'InvalidSpec' && !!message?.includes(problem.slice(0, 200));
        const byEvent = events.some((e) => e.involvedObject?.name === m.metadata.name && reported(e.reason, e.message));
        if (!reported(ready?.reason, ready?.message) && !(ready === undefined && byEvent)) {
          unreported.push(`${m.metadata.name}: want "${problem.slice(0, 120)}", status ${JSON.stringify(ready)?.slice(0, 300)}, event ${byEvent}`);
        }
      }
      return models.length === BYPASS && unreported.length === 0;
    }).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${unreported.slice(0, 10).join('\n')}\n${op.errorLines().slice(0, 3).map((l) => JSON.stringify(l).slice(0, 600)).join('\n')}`);
    });
    // Objects the API server refuses any status for were reported by an Event (checked above).
    const eventOnly = (await scenario.cluster.client.listAll<Obj>(AIModels, { namespace })).filter((m) => readyCondition(m) === undefined).map((m) => `${m.metadata.name}:`);
    const state = await inspect(scenario.cluster.client, namespace);
    expect(state.problems.filter((p) => !eventOnly.some((prefix) => p.startsWith(prefix)))).toEqual([]);
    expect(op.crashed, op.tail()).toBeUndefined();
    ledger.figure('bypass: reported by Event only (the API server refuses any status)', eventOnly.length);
    ledger.figure('bypass: error log lines', op.errorLines().length);
  });

  it('very large objects and unusual but valid names and labels', async () => {
    const namespace = await scenario.cluster.ensureNamespace(`n${'0123456789'.repeat(6)}ab`); // 63 characters
    const prefix = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.example`.slice(0, 253).replace(/[.-]+$/, '');
    const models: Obj[] = [
      { metadata: { name: 'a' }, spec: { model: 'a' } },
      { metadata: { name: `z${'9'.repeat(48)}z` }, spec: { model: 'meta-llama/Llama-3.1-8B-Instruct@main:q4+lora', replicas: 1 } },
      { metadata: { name: 'a-b--c---d' }, spec: { model: 'Qwen/Qwen2.5-7B', podLabels: { [`${prefix}/${'k'.repeat(63)}`]: `${'V'.repeat(30)}-_.${'v'.repeat(30)}`, 'empty-value': '' } } },
      {
        metadata: { name: 'huge' },
        spec: {
          model: 'huge',
          args: Array.from({ length: 128 }, (_, i) => `--a${i}=${'x'.repeat(4000)}`),
          command: Array.from({ length: 32 }, () => 'c'.repeat(4000)),
          env: Array.from({ length: 100 }, (_, i) => ({ name: `E_${i}`, value: 'e'.repeat(1000) })),
          podAnnotations: Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`example.com/a${i}`, 'a'.repeat(4000)])),
          podLabels: Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`example.com/l${i}`, 'l'.repeat(63)])),
        },
      },
    ].map((m) => ({ apiVersion: API_VERSION, kind: KIND, ...m, metadata: { ...m.metadata, namespace } }));
    for (const m of models) await scenario.cluster.client.create(m);
    ledger.figure('largest AIModel (bytes)', Buffer.byteLength(JSON.stringify(models[3])));
    const op = await scenario.startOperator({ namespaces: [namespace], logFile: join(scenario.cluster.dir, 'operator-unusual.log') });
    const { ms } = await waitConverged(scenario.cluster.client, namespace, { ready: true, timeoutMs: 180_000, expectModels: models.length });
    ledger.figure('unusual models ready after (s)', ms / 1000);
    expect(op.crashed, op.tail()).toBeUndefined();
  });
});
