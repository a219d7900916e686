// Plain workloads of no model, for tests of the cluster itself: a Deployment whose pods kwok runs,
// and an HPA on its CPU.
import type { KubeObject } from '../../src/kube/types.ts';

/** A Deployment with one container; its pods are labelled app=<name>. */
export function plainDeployment(
  namespace: string,
  name: string,
  replicas: number,
  options: { container?: Record<string, unknown>; podAnnotations?: Record<string, string> } = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, ...(options.podAnnotations ? { annotations: options.podAnnotations } : {}) },
        spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1', ...options.container }] },
      },
    },
  } as KubeObject;
}

/** An autoscaling/v2 HPA keeping the Deployment `name` at a CPU utilisation. */
export function cpuHpa(namespace: string, name: string, bounds: { min: number; max: number }, averageUtilization: number): KubeObject {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name, namespace },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas: bounds.min,
      maxReplicas: bounds.max,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization } } }],
    },
  } as KubeObject;
}
