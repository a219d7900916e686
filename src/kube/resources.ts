// The REST mapping of every kind the operator touches. A static table instead of discovery:
// the operator only ever deals with these kinds, and a table costs no start-up requests.

export interface ResourceType {
  readonly apiVersion: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

function resource(apiVersion: string, kind: string, plural: string, namespaced = true): ResourceType {
  return { apiVersion, kind, plural, namespaced };
}

export const Namespaces = resource('v1', 'Namespace', 'namespaces', false);
export const Nodes = resource('v1', 'Node', 'nodes', false);
export const Pods = resource('v1', 'Pod', 'pods');
export const Services = resource('v1', 'Service', 'services');
export const ServiceAccounts = resource('v1', 'ServiceAccount', 'serviceaccounts');
export const Secrets = resource('v1', 'Secret', 'secrets');
export const ConfigMaps = resource('v1', 'ConfigMap', 'configmaps');
export const PersistentVolumeClaims = resource('v1', 'PersistentVolumeClaim', 'persistentvolumeclaims');
export const CoreEvents = resource('v1', 'Event', 'events');
export const Events = resource('events.k8s.io/v1', 'Event', 'events');
export const Deployments = resource('apps/v1', 'Deployment', 'deployments');
export const ReplicaSets = resource('apps/v1', 'ReplicaSet', 'replicasets');
export const HorizontalPodAutoscalers = resource('autoscaling/v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers');
export const PodDisruptionBudgets = resource('policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets');
/** The Prometheus Operator's, served only where it is installed. */
export const PodMonitors = resource('monitoring.coreos.com/v1', 'PodMonitor', 'podmonitors');
/** KEDA's, served only where it is installed. */
export const ScaledObjects = resource('keda.sh/v1alpha1', 'ScaledObject', 'scaledobjects');
export const Leases = resource('coordination.k8s.io/v1', 'Lease', 'leases');
export const PriorityClasses = resource('scheduling.k8s.io/v1', 'PriorityClass', 'priorityclasses', false);
export const RuntimeClasses = resource('node.k8s.io/v1', 'RuntimeClass', 'runtimeclasses', false);
export const CustomResourceDefinitions = resource(
  'apiextensions.k8s.io/v1',
  'CustomResourceDefinition',
  'customresourcedefinitions',
  false,
);
export const ClusterRoles = resource('rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', false);
export const ClusterRoleBindings = resource('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', false);
export const Roles = resource('rbac.authorization.k8s.io/v1', 'Role', 'roles');
export const RoleBindings = resource('rbac.authorization.k8s.io/v1', 'RoleBinding', 'rolebindings');

const known = new Map<string, ResourceType>();

export function registerResource(type: ResourceType): ResourceType {
  known.set(`${type.apiVersion}/${type.kind}`, type);
  return type;
}

for (const type of [
  Namespaces, Nodes, Pods, Services, ServiceAccounts, Secrets, ConfigMaps, PersistentVolumeClaims, CoreEvents, Events,
  Deployments, ReplicaSets, HorizontalPodAutoscalers, PodDisruptionBudgets, PodMonitors, ScaledObjects, Leases, PriorityClasses, RuntimeClasses, CustomResourceDefinitions,
  ClusterRoles, ClusterRoleBindings, Roles, RoleBindings,
]) {
  registerResource(type);
}

export function resourceFor(apiVersion: string, kind: string): ResourceType {
  const type = known.get(`${apiVersion}/${kind}`);
  if (!type) throw new Error(`no REST mapping for ${apiVersion} ${kind}; register it with registerResource()`);
  return type;
}

/** The URL path of a collection or, with a name, of one object (and optionally its subresource). */
export function resourcePath(type: ResourceType, namespace?: string, name?: string, subresource?: string): string {
  const base = type.apiVersion.includes('/') ? `/apis/${type.apiVersion}` : `/api/${type.apiVersion}`;
  const ns = type.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  let path = `${base}${ns}/${type.plural}`;
  if (name !== undefined) path += `/${encodeURIComponent(name)}`;
  if (subresource) path += `/${subresource}`;
  return path;
}
