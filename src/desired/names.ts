import { createHash } from 'node:crypto';
import type { V1OwnerReference } from '@kubernetes/client-node';
import { API_VERSION, KIND } from '../api/v1/aimodel.ts';
import { DNS1035_LABEL_MAX_LENGTH } from '../api/v1/formats.ts';

/** The identity of an AIModel that its children are derived from. */
export type ModelIdentity = { metadata: { name: string; namespace: string; uid: string } };

export type ChildKind = 'Deployment' | 'Service' | 'HorizontalPodAutoscaler' | 'PodDisruptionBudget' | 'PersistentVolumeClaim' | 'PodMonitor' | 'ScaledObject';

/**
 * Suffixes per kind. Objects of different kinds may share a name, so most children are simply
 * named after the model: `kubectl get deploy,svc,hpa,pdb <model>` then finds all of them. The PVC
 * gets a suffix because it outlives pod changes and is easily mistaken for a user's own claim.
 */
const CHILD_SUFFIX: Record<ChildKind, string> = {
  Deployment: '',
  Service: '',
  HorizontalPodAutoscaler: '',
  PodDisruptionBudget: '',
  PersistentVolumeClaim: '-models',
  PodMonitor: '',
  ScaledObject: '',
};

/** KEDA names the HorizontalPodAutoscaler of a ScaledObject keda-hpa-<ScaledObject name>. */
export const KEDA_HPA_PREFIX = 'keda-hpa-';

const HASH_LENGTH = 8;

/**
 * The name of a model's child of the given kind. The CRD caps model names at MAX_NAME_LENGTH (50)
 * characters, so for admitted objects this is `<name><suffix>`, at most 57 characters. For a name
 * that somehow got past that cap (an object stored under an older CRD) the result is still a
 * valid DNS-1035 label: the name is cut and a hash of the full name appended, so distinct models
 * never share a child.
 */
export function childName(model: { metadata: { name: string } }, kind: ChildKind): string {
  const full = `${model.metadata.name}${CHILD_SUFFIX[kind]}`;
  if (full.length <= DNS1035_LABEL_MAX_LENGTH) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, HASH_LENGTH);
  const keep = DNS1035_LABEL_MAX_LENGTH - HASH_LENGTH - 1;
  return `${full.slice(0, keep).replace(/-+$/, '')}-${hash}`;
}

export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_MODEL = 'ai.openai.com/model';

export const APP_NAME = 'aimodel';
export const COMPONENT = 'inference';
export const MANAGED_BY = 'aimodel-operator';

/**
 * Labels that select a model's pods. Deployment and PDB selectors are immutable or disruptive to
 * change, so this set never depends on anything but the model's name.
 */
export function selectorLabels(model: { metadata: { name: string } }): Record<string, string> {
  return { [LABEL_NAME]: APP_NAME, [LABEL_INSTANCE]: model.metadata.name };
}

/** Labels on every child and on the pods. spec.model is left out: it need not be a valid label value. */
export function commonLabels(model: { metadata: { name: string } }): Record<string, string> {
  return {
    ...selectorLabels(model),
    [LABEL_COMPONENT]: COMPONENT,
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_MODEL]: model.metadata.name,
  };
}

/** status.selector: the pod selector in the string form the scale subresource expects. */
export function selectorFor(model: { metadata: { name: string } }): string {
  return Object.entries(selectorLabels(model))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/** status.endpoint: the in-cluster URL of the model's Service. */
export function endpointFor(
  model: { metadata: { name: string; namespace: string }; spec: { port: number; service: { port?: number | undefined } } },
  clusterDomain = 'cluster.local',
): string {
  const port = model.spec.service.port ?? model.spec.port;
  return `http://${childName(model, 'Service')}.${model.metadata.namespace}.svc.${clusterDomain}:${port}`;
}

/** The controller reference that makes the model own a child and garbage-collect it. */
export function ownerReferenceFor(model: ModelIdentity): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: model.metadata.name,
    uid: model.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}
