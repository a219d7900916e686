// The shapes every Kubernetes object shares; kind-specific types come from @kubernetes/client-node.
import type { V1ObjectMeta } from '@kubernetes/client-node';

export interface ObjectMeta extends Omit<V1ObjectMeta, 'creationTimestamp' | 'deletionTimestamp'> {
  name: string;
  // Kept as the API server's RFC 3339 strings: the operator reads JSON, not client-node models.
  creationTimestamp?: string;
  deletionTimestamp?: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export interface KubeList<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export type WatchEvent<T> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; object: T }
  | { type: 'ERROR'; object: { code?: number; reason?: string; message?: string } };

export function objectKey(obj: { metadata: { namespace?: string; name: string } }): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}
