// Waiting on the cluster by watching, not sleeping: a condition is checked on the current state
// and then on every change the API server reports, until it holds or the deadline passes.
import type { KubeClient } from '../../src/kube/client.ts';
import { ApiError } from '../../src/kube/errors.ts';
import type { ResourceType } from '../../src/kube/resources.ts';
import type { KubeObject } from '../../src/kube/types.ts';

export interface WaitOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  timeoutMs?: number;
  description?: string;
}

/** Resolves with the objects when predicate(all matching objects) holds. */
export async function waitForList<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  predicate: (items: T[]) => boolean,
  options: WaitOptions = {},
): Promise<T[]> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const byKey = new Map<string, T>();
  const key = (o: T) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  try {
    for (;;) {
      let list;
      try {
        list = await client.list<T>(type, { ...options, signal: controller.signal });
      } catch (err) {
        // The API server sheds load (429) right after a CRD changes: wait as it asks.
        if (!(err instanceof ApiError && err.status === 429)) throw err;
        await new Promise((resolve) => setTimeout(resolve, err.retryAfterMs ?? 1000));
        continue;
      }
      byKey.clear();
      for (const item of list.items) byKey.set(key(item), item);
      if (predicate([...byKey.values()])) return [...byKey.values()];
      let done = false;
      await client.watch<T>(
        type,
        { ...options, resourceVersion: list.metadata?.resourceVersion ?? '', allowWatchBookmarks: false, timeoutSeconds: 60, signal: controller.signal },
        (event) => {
          if (done || event.type === 'ERROR' || event.type === 'BOOKMARK') return;
          if (event.type === 'DELETED') byKey.delete(key(event.object));
          else byKey.set(key(event.object), event.object);
          if (predicate([...byKey.values()])) {
            done = true;
            controller.abort();
          }
        },
      ).catch((err: unknown) => {
        if (!done && !controller.signal.aborted) throw err;
      });
      if (done) return [...byKey.values()];
      if (controller.signal.aborted) break;
    }
  } finally {
    clearTimeout(timer);
  }
  const summary = [...byKey.values()].map((o) => JSON.stringify({ name: o.metadata.name, status: (o as { status?: unknown }).status })).join('\n');
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.description ?? `${type.plural} to match`}; last seen:\n${summary.slice(0, 4000)}`);
}

/** Resolves with the object when predicate(object or undefined if absent) holds. */
export async function waitForObject<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  namespace: string | undefined,
  name: string,
  predicate: (obj: T | undefined) => boolean,
  options: Omit<WaitOptions, 'namespace' | 'fieldSelector'> = {},
): Promise<T | undefined> {
  const items = await waitForList<T>(client, type, (list) => predicate(list[0]), {
    ...options,
    namespace,
    fieldSelector: `metadata.name=${name}`,
    description: options.description ?? `${type.kind} ${namespace ?? ''}/${name}`,
  });
  return items[0];
}
