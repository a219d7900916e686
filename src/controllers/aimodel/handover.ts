// Handing Deployment replicas to the HorizontalPodAutoscaler without a dip.
//
// When autoscaling starts, the operator's intent stops naming `replicas`. If its last apply owned
// the field, dropping it would reset replicas to the API default of 1 before the HPA acts (the dip
// KServe and the NIM Operator shipped). A second field manager first applies the current count, so
// the field keeps an owner and its value until the HPA writes its own.
import type { KubeClient } from '../../kube/client.ts';
import { Deployments } from '../../kube/resources.ts';
import type { KubeObject } from '../../kube/types.ts';

export const fieldManager = 'aimodel-operator';
/** A second manager that holds Deployment replicas while ownership passes to the HPA. */
export const handoverFieldManager = 'aimodel-operator-handover';

type DeploymentObject = KubeObject & { spec?: { replicas?: number } };

/** True when this field manager's last apply set spec.replicas of the object. */
export function appliedReplicas(obj: { metadata: { managedFields?: unknown[] } }, manager: string): boolean {
  return (obj.metadata.managedFields ?? []).some((entry) => {
    const e = entry as { manager?: string; operation?: string; fieldsV1?: { 'f:spec'?: Record<string, unknown> } };
    return e.manager === manager && e.operation === 'Apply' && e.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined;
  });
}

/**
 * Applies `replicas` under the handover manager, on the condition that the Deployment is still the
 * version `read` shows: the HPA may have scaled it since, and a forced apply of a count read
 * before that would undo its decision. A 409 Conflict then sends the reconcile round again.
 */
export async function handOverReplicas(client: KubeClient, read: DeploymentObject, replicas: number, signal?: AbortSignal): Promise<void> {
  await client.apply(
    {
      apiVersion: Deployments.apiVersion,
      kind: Deployments.kind,
      metadata: { name: read.metadata.name, namespace: read.metadata.namespace, resourceVersion: read.metadata.resourceVersion },
      spec: { replicas },
    } as KubeObject,
    { fieldManager: handoverFieldManager, force: true, ...(signal ? { signal } : {}) },
  );
}
