// The AIModel CustomResourceDefinition may be missing: a fresh cluster, or one whose CRD was
// removed. The models' informers then fail with 404 on every retry, which by itself says nothing
// a newcomer can act on. This names the CRD and how to install it, once in the log and for as
// long as it lasts in /readyz; the informers keep retrying, so once the CRD appears the operator
// proceeds without a restart.
import { GROUP, PLURAL, VERSION } from '../../api/v1/aimodel.ts';
import type { HealthCheck } from '../../runtime/health.ts';
import type { Logger } from '../../runtime/logger.ts';

export const aimodelCRDName = `${PLURAL}.${GROUP}`;

export const missingCRDMessage =
  `the CustomResourceDefinition ${aimodelCRDName} is not installed (the API server does not serve ${GROUP}/${VERSION} ${PLURAL}): ` +
  'install it with `kubectl apply --server-side -f crds/` from a checkout of aimodel-operator, or with the Helm chart ' +
  'charts/aimodel-operator, which ships it; the operator waits for it and starts once it is there';

/** What this needs of an informer: its latest list/watch failure and news of new ones. */
export interface ObservedInformer {
  lastFailure(): unknown;
  addFailureObserver(observer: { failed?(err: unknown): void; recovered?(): void }): () => void;
}

const isNotFound = (err: unknown): boolean => (err as { status?: unknown } | undefined)?.status === 404;

/**
 * Watches the AIModel informers for a missing CRD: logs it once when they first fail with 404
 * (again only after it was found and went missing anew) and returns the readiness check that
 * fails, naming the CRD, while any of them does.
 */
export function watchForMissingAIModelCRD(informers: readonly ObservedInformer[], log: Logger): HealthCheck {
  const missing = (): boolean => informers.some((informer) => isNotFound(informer.lastFailure()));
  let reported = false;
  for (const informer of informers) {
    informer.addFailureObserver({
      failed(err) {
        if (!isNotFound(err) || reported) return;
        reported = true;
        log.error({ crd: aimodelCRDName }, missingCRDMessage);
      },
      recovered() {
        if (!reported || missing()) return;
        reported = false;
        log.info({ crd: aimodelCRDName }, `the CustomResourceDefinition ${aimodelCRDName} is installed: starting`);
      },
    });
  }
  return () => {
    if (missing()) throw new Error(missingCRDMessage);
  };
}
