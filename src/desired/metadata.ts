import type { V1OwnerReference } from '@kubernetes/client-node';
import { type ChildKind, childName, commonLabels, type ModelIdentity, ownerReferenceFor } from './names.ts';

/** Metadata of a server-side-apply intent: what the operator asserts and nothing else. */
export type ChildMetadata = {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences: V1OwnerReference[];
};

/**
 * A child object as the operator applies it. apiVersion, kind, metadata and spec are required so
 * the reconciler can key, diff and apply it without optional-chaining through client types.
 */
export type Intent<T extends { spec?: unknown }> = Omit<T, 'apiVersion' | 'kind' | 'metadata' | 'spec' | 'status'> & {
  apiVersion: string;
  kind: ChildKind;
  metadata: ChildMetadata;
  spec: NonNullable<T['spec']>;
};

export function childMetadata(
  model: ModelIdentity,
  kind: ChildKind,
  annotations?: Record<string, string>,
): ChildMetadata {
  const metadata: ChildMetadata = {
    name: childName(model, kind),
    namespace: model.metadata.namespace,
    labels: commonLabels(model),
    ownerReferences: [ownerReferenceFor(model)],
  };
  if (annotations !== undefined && Object.keys(annotations).length > 0) metadata.annotations = { ...annotations };
  return metadata;
}

/** Quantities may be written as numbers in the spec; the Kubernetes client types want strings. */
export function quantityString(quantity: number | string): string {
  return String(quantity);
}

export function quantityMap(map: Record<string, number | string>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).map(([key, value]) => [key, quantityString(value)]));
}
