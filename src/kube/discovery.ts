// Whether the API server serves a resource: for kinds that exist only where an add-on installed
// their CRD (the Prometheus Operator's PodMonitor, KEDA's ScaledObject).
import type { KubeClient } from './client.ts';
import { isNotFound } from './errors.ts';
import type { ResourceType } from './resources.ts';

interface APIResourceList {
  resources?: { name: string }[];
}

export async function serves(client: KubeClient, type: ResourceType, signal?: AbortSignal): Promise<boolean> {
  const path = type.apiVersion.includes('/') ? `/apis/${type.apiVersion}` : `/api/${type.apiVersion}`;
  try {
    const list = await client.request<APIResourceList>({ method: 'GET', path, signal });
    return (list.resources ?? []).some((r) => r.name === type.plural);
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
