// Read access to informer caches. With a namespace list, one informer runs per namespace (the
// operator's RBAC may allow nothing cluster-wide); this joins them behind one reader, the way
// controller-runtime's multi-namespace cache does. The key '' stands for all namespaces.
import type { Informer, KubeObject } from './informer.ts';

export interface CacheReader<T> {
  readonly name: string;
  get(namespace: string | undefined, name: string): T | undefined;
  list(namespace?: string): T[];
  byIndex(indexName: string, value: string): T[];
  hasSynced(): boolean;
}

export class MultiNamespaceCache<T extends KubeObject> implements CacheReader<T> {
  readonly name: string;
  private readonly byNamespace: ReadonlyMap<string, Informer<T>>;

  constructor(name: string, byNamespace: ReadonlyMap<string, Informer<T>>) {
    this.name = name;
    this.byNamespace = byNamespace;
  }

  /** The informer holding a namespace: its own, or the one watching all namespaces (key ''). */
  private informerFor(namespace: string | undefined): Informer<T> | undefined {
    return this.byNamespace.get('') ?? (namespace === undefined ? undefined : this.byNamespace.get(namespace));
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.informerFor(namespace)?.get(namespace, name);
  }

  list(namespace?: string): T[] {
    if (namespace !== undefined) return this.informerFor(namespace)?.list(namespace) ?? [];
    return [...this.byNamespace.values()].flatMap((informer) => informer.list());
  }

  byIndex(indexName: string, value: string): T[] {
    return [...this.byNamespace.values()].flatMap((informer) => informer.byIndex(indexName, value));
  }

  hasSynced(): boolean {
    return [...this.byNamespace.values()].every((informer) => informer.hasSynced());
  }
}
