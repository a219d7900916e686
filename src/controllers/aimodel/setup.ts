// Wires the AIModel controller: informers for the models and the children the operator owns
// (selected by its managed-by label, so it caches nothing else), the mapping from child events
// to their model, and the reconciler.
import type { Registry } from 'prom-client';
import { GROUP, KIND } from '../../api/v1/aimodel.ts';
import { parseSourceUri } from '../../api/v1/source.ts';
import { AIModels } from '../../api/v1/resource.ts';
import type { OperatorDefaults } from '../../desired/defaults.ts';
import { listWatcher } from '../../kube/adapters.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { EventRecorder } from '../../kube/events.ts';
import {
  Deployments,
  HorizontalPodAutoscalers,
  PersistentVolumeClaims,
  PodDisruptionBudgets,
  PodMonitors,
  Pods,
  ScaledObjects,
  Services,
} from '../../kube/resources.ts';
import type { ResourceType } from '../../kube/resources.ts';
import { MultiNamespaceCache } from '../../runtime/cache.ts';
import type { Clock } from '../../runtime/clock.ts';
import { Controller, enqueueControllerOwner } from '../../runtime/controller.ts';
import type { ControllerMetrics, Request } from '../../runtime/controller.ts';
import { byControllerUID, controllerOf, dropManagedFields, Informer } from '../../runtime/informer.ts';
import type { IndexFunc, KubeObject } from '../../runtime/informer.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { Manager } from '../../runtime/manager.ts';
import type { WorkQueueMetricsProvider } from '../../runtime/workqueue.ts';
import { AIModelMetrics } from './metrics.ts';
import { keepAppliedFields } from '../../kube/ownership.ts';
import { fieldManager } from './handover.ts';
import { AIModelReconciler, modelsByClaimIndex, podsByModelIndex } from './reconciler.ts';
import type { ModelCaches } from './reconciler.ts';

export { AIModels };
export const controllerName = 'aimodel';
export const managedByLabel = 'app.kubernetes.io/managed-by';
export const managedByValue = 'aimodel-operator';
const instanceLabel = 'app.kubernetes.io/instance';

export interface AIModelControllerOptions {
  client: KubeClient;
  manager: Manager;
  /** Namespaces to watch; empty for all. */
  namespaces: readonly string[];
  defaults: OperatorDefaults;
  workers: number;
  resyncPeriodMs: number;
  events: EventRecorder;
  metrics: { controller: ControllerMetrics; workqueue: WorkQueueMetricsProvider; registry: Registry };
  clock: Clock;
  logger: Logger;
}

export interface AIModelController {
  controller: Controller;
  reconciler: AIModelReconciler;
  caches: ModelCaches;
  informers: Informer<KubeObject>[];
  /** The informers of the AIModels themselves (one per watched namespace). */
  modelInformers: Informer<KubeObject>[];
}

/** Pods are indexed by the model that runs them, read from the instance label the operator sets. */
const podModelIndex: IndexFunc<KubeObject> = (pod) => {
  const model = pod.metadata.labels?.[instanceLabel];
  return model ? [`${pod.metadata.namespace}/${model}`] : [];
};

/**
 * Models by the user's claim they mount (a pvc:// source or spec.storage.existingClaim), read
 * from the raw object: indexers run on every event, a full parse of the spec would cost more.
 */
const modelClaimIndex: IndexFunc<KubeObject> = (model) => {
  const spec = (model as { spec?: { source?: { uri?: unknown }; storage?: { existingClaim?: { claimName?: unknown } } } }).spec;
  const uri = spec?.source?.uri;
  const source = typeof uri === 'string' ? parseSourceUri(uri) : undefined;
  const claim = source?.scheme === 'pvc' ? source.claimName : source === undefined ? spec?.storage?.existingClaim?.claimName : undefined;
  return typeof claim === 'string' ? [`${model.metadata.namespace}/${claim}`] : [];
};

// Pods are the largest objects in the cache and the operator reads only their status and labels.
function slimPod(pod: KubeObject & { spec?: unknown; status?: Record<string, unknown> }): KubeObject {
  const { metadata, status } = pod;
  return {
    metadata: {
      name: metadata.name,
      namespace: metadata.namespace,
      uid: metadata.uid,
      resourceVersion: metadata.resourceVersion,
      labels: metadata.labels,
      ownerReferences: metadata.ownerReferences,
      ...(metadata as { deletionTimestamp?: string }).deletionTimestamp ? { deletionTimestamp: (metadata as { deletionTimestamp?: string }).deletionTimestamp } : {},
    },
    status: status && {
      phase: status.phase,
      conditions: status.conditions,
      containerStatuses: status.containerStatuses,
      initContainerStatuses: status.initContainerStatuses,
    },
  } as KubeObject;
}

export function setupAIModelController(options: AIModelControllerOptions): AIModelController {
  const { client, manager, logger, clock } = options;
  const namespaces = options.namespaces.length > 0 ? options.namespaces : [''];
  const informers: Informer<KubeObject>[] = [];

  function cache<T extends KubeObject>(
    type: ResourceType,
    config: { labelSelector?: string; indexers?: Record<string, IndexFunc<T>>; transform?: (obj: T) => T } = {},
  ): { reader: MultiNamespaceCache<T>; informers: Informer<T>[] } {
    const byNamespace = new Map<string, Informer<T>>();
    for (const namespace of namespaces) {
      const informer = new Informer<T>({
        name: namespace ? `${type.plural}/${namespace}` : type.plural,
        listWatcher: listWatcher<T & { apiVersion?: string }>(client, type, {
          ...(namespace ? { namespace } : {}),
          ...(config.labelSelector ? { labelSelector: config.labelSelector } : {}),
        }) as never,
        clock,
        logger,
        streamingList: true,
        ...(config.indexers ? { indexers: config.indexers } : {}),
        ...(config.transform ? { transform: config.transform } : {}),
      });
      byNamespace.set(namespace, informer);
      informers.push(informer as unknown as Informer<KubeObject>);
      manager.add(informer, { name: `informer ${informer.name}`, needLeaderElection: false });
    }
    return { reader: new MultiNamespaceCache(type.plural, byNamespace), informers: [...byNamespace.values()] };
  }

  // Children keep the operator's own apply entry of managedFields: drift is read from it.
  const owned = {
    labelSelector: `${managedByLabel}=${managedByValue}`,
    indexers: { controller: byControllerUID },
    transform: keepAppliedFields(fieldManager),
  };
  const models = cache<KubeObject>(AIModels, { indexers: { [modelsByClaimIndex]: modelClaimIndex } });
  const deployments = cache<KubeObject>(Deployments, owned);
  const services = cache<KubeObject>(Services, owned);
  const hpas = cache<KubeObject>(HorizontalPodAutoscalers, owned);
  const pdbs = cache<KubeObject>(PodDisruptionBudgets, owned);
  const podMonitors = options.defaults.podMetrics === 'PodMonitor' ? cache<KubeObject>(PodMonitors, owned) : undefined;
  const scaledObjects = options.defaults.scaledObjects ? cache<KubeObject>(ScaledObjects, owned) : undefined;
  // All claims, not only the operator's: a model whose spec.storage.existingClaim names a claim
  // that does not exist yet must hear when it appears.
  const pvcs = cache<KubeObject>(PersistentVolumeClaims, { indexers: owned.indexers, transform: owned.transform });
  const pods = cache<KubeObject>(Pods, {
    labelSelector: `${managedByLabel}=${managedByValue}`,
    indexers: { [podsByModelIndex]: podModelIndex },
    transform: (pod) => slimPod(dropManagedFields(pod)),
  });

  const caches = {
    models: models.reader,
    deployments: deployments.reader,
    services: services.reader,
    hpas: hpas.reader,
    pdbs: pdbs.reader,
    ...(podMonitors ? { podMonitors: podMonitors.reader } : {}),
    ...(scaledObjects ? { scaledObjects: scaledObjects.reader } : {}),
    pvcs: pvcs.reader,
    pods: pods.reader,
  } as ModelCaches;

  const reconciler = new AIModelReconciler({
    client,
    caches,
    defaults: options.defaults,
    events: options.events,
    metrics: new AIModelMetrics(options.metrics.registry, models.reader),
    clock,
  });
  const controller = new Controller({
    name: controllerName,
    reconciler,
    workers: options.workers,
    clock,
    logger,
    metrics: options.metrics.controller,
    workqueueMetrics: options.metrics.workqueue,
    resyncPeriodMs: options.resyncPeriodMs,
  });

  for (const informer of models.informers) controller.watchPrimary(informer);
  const toOwner = enqueueControllerOwner({ group: GROUP, kind: KIND });
  for (const group of [deployments, services, pdbs, ...(podMonitors ? [podMonitors] : []), ...(scaledObjects ? [scaledObjects] : [])]) {
    for (const informer of group.informers) controller.watch(informer, toOwner);
  }
  // KEDA copies a ScaledObject's labels to the HPA it makes (keda-hpa-<model>), so that HPA is in
  // this cache too, controlled by the ScaledObject: its status is the model's autoscaling status.
  const hpaToModel = (hpa: KubeObject): Iterable<Request> => {
    const owner = controllerOf(hpa);
    const model = hpa.metadata.labels?.[instanceLabel];
    if (owner?.kind === 'ScaledObject' && owner.apiVersion.startsWith('keda.sh/') && model) return [{ namespace: hpa.metadata.namespace ?? '', name: model }];
    return toOwner(hpa);
  };
  for (const informer of hpas.informers) controller.watch(informer, hpaToModel);
  const claimToModels = (claim: KubeObject): Request[] => [
    ...toOwner(claim),
    ...models.reader.byIndex(modelsByClaimIndex, `${claim.metadata.namespace}/${claim.metadata.name}`).map((m) => ({ namespace: m.metadata.namespace ?? '', name: m.metadata.name })),
  ];
  for (const informer of pvcs.informers) controller.watch(informer, claimToModels);
  const podToModel = (pod: KubeObject): Request[] => {
    const model = pod.metadata.labels?.[instanceLabel];
    return model ? [{ namespace: pod.metadata.namespace ?? '', name: model }] : [];
  };
  for (const informer of pods.informers) controller.watch(informer, podToModel);

  manager.add(controller, { name: `controller ${controllerName}`, needLeaderElection: true });
  return { controller, reconciler, caches, informers, modelInformers: models.informers };
}
