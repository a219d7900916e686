// Binds the generic controller runtime to the API server: a ListWatcher per resource type for
// informers, a LeaseStore for leader election, and an AccessReviewer for secure metrics.
import type { ListWatcher, WatchEvent as RuntimeWatchEvent } from '../runtime/informer.ts';
import type { Lease, LeaseStore } from '../runtime/leaderelection.ts';
import type { AccessReviewer, UserInfo } from '../runtime/metricsauth.ts';
import type { KubeClient } from './client.ts';
import { Leases } from './resources.ts';
import type { ResourceType } from './resources.ts';
import type { KubeObject } from './types.ts';

export interface Selection {
  /** One namespace, or undefined for all namespaces. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export function listWatcher<T extends KubeObject>(client: KubeClient, type: ResourceType, selection: Selection = {}): ListWatcher<T> {
  return {
    async list({ limit, continue: token, resourceVersion, signal }) {
      const page = await client.list<T>(type, { ...selection, limit, continue: token, resourceVersion, signal });
      // The API server leaves apiVersion and kind off the items of a list (watch events carry
      // them). Stamp them, so a cached object looks the same however it arrived: change
      // detection compares the intent's apiVersion and kind with the cached object's.
      // The items were just parsed and belong to nobody else: stamped in place, not copied.
      for (const item of page.items) Object.assign(item, { apiVersion: type.apiVersion, kind: type.kind });
      return { items: page.items, resourceVersion: page.metadata?.resourceVersion ?? '', continue: page.metadata?.continue || undefined };
    },
    async watch({ resourceVersion, allowWatchBookmarks, timeoutSeconds, sendInitialEvents, signal, onOpen }, onEvent) {
      await client.watch<T>(type, { ...selection, resourceVersion, allowWatchBookmarks, timeoutSeconds, sendInitialEvents, signal, ...(onOpen ? { onOpen } : {}) }, (event) => {
        if (event.type === 'ERROR') onEvent({ type: 'ERROR', status: event.object } as RuntimeWatchEvent<T>);
        else onEvent(event as RuntimeWatchEvent<T>);
      });
    },
  };
}

export function leaseStore(client: KubeClient, namespace: string, name: string): LeaseStore {
  const withType = (lease: Lease) => ({ apiVersion: Leases.apiVersion, kind: Leases.kind, ...lease });
  return {
    get: (signal) => client.find<KubeObject & Lease>(Leases, namespace, name, signal),
    create: (lease, signal) => client.create(withType(lease), signal ? { signal } : {}),
    update: (lease, signal) => client.update(withType(lease), signal ? { signal } : {}),
  };
}

/**
 * TokenReview (authentication.k8s.io/v1) and SubjectAccessReview (authorization.k8s.io/v1), each
 * bounded by 10 s as controller-runtime's TokenAccessReviewTimeout. Needs `create` on
 * tokenreviews and subjectaccessreviews.
 */
export function accessReviewer(client: KubeClient, timeoutMs = 10_000): AccessReviewer {
  return {
    async authenticate(token) {
      const review = await client.request<{ status?: { authenticated?: boolean; user?: UserInfo } }>({
        method: 'POST',
        path: '/apis/authentication.k8s.io/v1/tokenreviews',
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
        signal: AbortSignal.timeout(timeoutMs),
      });
      return review.status?.authenticated && review.status.user?.username ? review.status.user : undefined;
    },
    async authorize(user, { verb, path }) {
      const review = await client.request<{ status?: { allowed?: boolean; reason?: string } }>({
        method: 'POST',
        path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: { user: user.username, uid: user.uid, groups: user.groups, extra: user.extra, nonResourceAttributes: { verb, path } },
        },
        signal: AbortSignal.timeout(timeoutMs),
      });
      return { allowed: review.status?.allowed === true, ...(review.status?.reason ? { reason: review.status.reason } : {}) };
    },
  };
}
