import { describe, expect, it } from 'vitest';
import { MemoryLogger } from '../../runtime/logger.ts';
import { watchForMissingAIModelCRD } from './crd.ts';
import type { ObservedInformer } from './crd.ts';

/** An informer reduced to its failures, driven by the test. */
class FailingInformer implements ObservedInformer {
  #last: unknown;
  readonly #observers = new Set<{ failed?(err: unknown): void; recovered?(): void }>();
  lastFailure(): unknown {
    return this.#last;
  }
  addFailureObserver(observer: { failed?(err: unknown): void; recovered?(): void }): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }
  fail(status: number): void {
    this.#last = Object.assign(new Error(`HTTP ${status}`), { status });
    for (const o of this.#observers) o.failed?.(this.#last);
  }
  recover(): void {
    this.#last = undefined;
    for (const o of this.#observers) o.recovered?.();
  }
}

const mentions = (log: MemoryLogger): number => log.records.filter((r) => r.msg?.includes('aimodels.ai.openai.com')).length;

describe('a missing AIModel CRD', () => {
  it('is logged once, naming the CRD and how to install it, however many informers fail how often', () => {
    const log = new MemoryLogger();
    const informers = [new FailingInformer(), new FailingInformer()];
    const check = watchForMissingAIModelCRD(informers, log);
    for (let i = 0; i < 5; i++) for (const informer of informers) informer.fail(404);
    expect(mentions(log)).toBe(1);
    const [record] = log.records;
    expect(record).toMatchObject({ level: 'error', obj: { crd: 'aimodels.ai.openai.com' } });
    expect(record!.msg).toContain('kubectl apply --server-side -f crds/');
    expect(record!.msg).toContain('charts/aimodel-operator');
    expect(check).toThrow(/CustomResourceDefinition aimodels\.ai\.openai\.com is not installed/);
  });

  it('fails readiness until every AIModel informer lists again, then says so once', () => {
    const log = new MemoryLogger();
    const informers = [new FailingInformer(), new FailingInformer()];
    const check = watchForMissingAIModelCRD(informers, log);
    for (const informer of informers) informer.fail(404);
    informers[0]!.recover();
    expect(check).toThrow(/aimodels\.ai\.openai\.com/);
    informers[1]!.recover();
    expect(check).not.toThrow();
    expect(log.records.map((r) => r.level)).toEqual(['error', 'info']);

    // Removed again later: reported again, once.
    informers[0]!.fail(404);
    informers[0]!.fail(404);
    expect(log.records.map((r) => r.level)).toEqual(['error', 'info', 'error']);
  });

  it('leaves other failures to the informers and the cache checks', () => {
    const log = new MemoryLogger();
    const informer = new FailingInformer();
    const check = watchForMissingAIModelCRD([informer], log);
    informer.fail(503);
    informer.fail(403);
    expect(check).not.toThrow();
    expect(log.records).toEqual([]);
  });
});
