import type { V1PodSpec } from '@kubernetes/client-node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AIModel } from '../api/v1/aimodel.ts';
import { arbitraryAIModel } from '../api/v1/arbitrary.ts';
import { isDns1035Label, isLabelValue, isQualifiedName } from '../api/v1/formats.ts';
import { engineSignalOf } from '../api/v1/autoscaling.ts';
import { desiredChildren, type DesiredChildren } from './children.ts';
import { DEFAULT_OPERATOR_DEFAULTS, type OperatorDefaults } from './defaults.ts';
import { selectorFor, selectorLabels } from './names.ts';

const operatorDefaults: fc.Arbitrary<OperatorDefaults> = fc.record({
  defaultImage: fc.constantFrom('openai/chatgpt-local:latest', 'registry.local/chatgpt-local:2'),
  engineImages: fc.constantFrom({}, { vllm: 'registry.local/vllm-openai:v0.11.0', ollama: 'registry.local/ollama:0.12.6' }),
  runAsUser: fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined }),
  runAsGroup: fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined }),
  fsGroup: fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined }),
  readOnlyRootFilesystem: fc.boolean(),
  gpuToleration: fc.boolean(),
  clusterDomain: fc.constantFrom('cluster.local', 'corp.internal'),
  podMetrics: fc.constantFrom('PodMonitor', 'annotations', 'none'),
  scaledObjects: fc.boolean(),
  prometheusAddress: fc.option(fc.constantFrom('http://prometheus.monitoring.svc:9090'), { nil: undefined }),
  kedaPollingIntervalSeconds: fc.integer({ min: 1, max: 60 }),
  kedaCooldownPeriodSeconds: fc.integer({ min: 0, max: 600 }),
  defaultCpuRequest: fc.constantFrom('1', '500m'),
});

const all = (c: DesiredChildren) => Object.values(c).filter((child) => child !== undefined);
const autoscaled = (model: AIModel) => model.spec.autoscaling !== undefined && !model.spec.suspend;

function property(predicate: (model: AIModel, children: DesiredChildren, defaults: OperatorDefaults) => void) {
  fc.assert(
    fc.property(arbitraryAIModel(), operatorDefaults, (model, defaults) => {
      predicate(model, desiredChildren(model, defaults), defaults);
    }),
    { numRuns: 300 },
  );
}

// pod-security-admission's restrictedVolumes check (k8s.io/pod-security-admission v0.37) allows image volumes too.
const ALLOWED_VOLUME_SOURCES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'image', 'persistentVolumeClaim', 'projected', 'secret']);

/** Fields the restricted Pod Security Standard forbids or requires, as listed in its documentation. */
function restrictedViolations(pod: V1PodSpec): string[] {
  const violations: string[] = [];
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) violations.push('host namespaces');
  if (pod.securityContext?.runAsNonRoot !== true) violations.push('pod runAsNonRoot');
  if (pod.securityContext?.runAsUser === 0) violations.push('pod runAsUser 0');
  if (!['RuntimeDefault', 'Localhost'].includes(pod.securityContext?.seccompProfile?.type ?? '')) violations.push('seccomp');
  for (const volume of pod.volumes ?? []) {
    const sources = Object.keys(volume).filter((key) => key !== 'name');
    if (sources.length !== 1 || !ALLOWED_VOLUME_SOURCES.has(sources[0]!)) violations.push(`volume ${volume.name}`);
  }
  if (pod.securityContext?.runAsNonRoot !== true) violations.push('pod runAsNonRoot');
  for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
    const context = container.securityContext;
    if (context?.runAsNonRoot !== true && pod.securityContext?.runAsNonRoot !== true) violations.push(`${container.name} runAsNonRoot unset`);
    if (context?.seccompProfile !== undefined && !['RuntimeDefault', 'Localhost'].includes(context.seccompProfile.type)) {
      violations.push(`${container.name} seccomp`);
    }
    if (context?.allowPrivilegeEscalation !== false) violations.push(`${container.name} allowPrivilegeEscalation`);
    if (context?.privileged) violations.push(`${container.name} privileged`);
    if (context?.runAsUser === 0) violations.push(`${container.name} runAsUser 0`);
    if (context?.runAsNonRoot === false) violations.push(`${container.name} runAsNonRoot`);
    if (!context?.capabilities?.drop?.includes('ALL')) violations.push(`${container.name} drop ALL`);
    if ((context?.capabilities?.add ?? []).some((cap) => cap !== 'NET_BIND_SERVICE')) violations.push(`${container.name} add`);
    if ((container.ports ?? []).some((port) => (port.hostPort ?? 0) !== 0)) violations.push(`${container.name} hostPort`);
    for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) {
      if (probe?.httpGet?.host) violations.push(`${container.name} probe host`);
    }
  }
  return violations;
}

/** Paths to `undefined` values and to empty objects other than volume sources like `emptyDir: {}`. */
function noise(value: unknown, path = ''): string[] {
  if (value === undefined) return [path];
  if (Array.isArray(value)) return value.flatMap((item, i) => noise(item, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  const entries = Object.entries(value);
  if (entries.length === 0 && !/\.(emptyDir|status)$/.test(path)) return [path];
  return entries.flatMap(([key, item]) => noise(item, `${path}.${key}`));
}

describe('desiredChildren (properties)', () => {
  it('makes the model the controlling owner of every child, in its namespace', () => {
    property((model, children) => {
      for (const child of all(children)) {
        expect(child.metadata.namespace).toBe(model.metadata.namespace);
        expect(child.metadata.ownerReferences).toEqual([
          {
            apiVersion: 'ai.openai.com/v1',
            kind: 'AIModel',
            name: model.metadata.name,
            uid: model.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ]);
      }
    });
  });

  it('names every child with a DNS-1035 label of at most 63 characters, distinct per kind', () => {
    property((_, children) => {
      for (const child of all(children)) expect(isDns1035Label(child.metadata.name), child.metadata.name).toBe(true);
      const kindsAndNames = all(children).map((child) => `${child.kind}/${child.metadata.name}`);
      expect(new Set(kindsAndNames).size).toBe(kindsAndNames.length);
    });
  });

  it('uses only valid label keys and values, on children and pods', () => {
    property((_, children) => {
      const labelSets = [
        ...all(children).map((child) => child.metadata.labels),
        children.deployment.spec.template.metadata?.labels ?? {},
        children.deployment.spec.selector.matchLabels ?? {},
        children.service.spec.selector ?? {},
      ];
      for (const labels of labelSets) {
        for (const [key, value] of Object.entries(labels)) {
          expect(isQualifiedName(key), key).toBe(true);
          expect(isLabelValue(value), `${key}=${value}`).toBe(true);
        }
      }
    });
  });

  it('selects the pods with the stable selector, which the pod labels contain', () => {
    property((model, children) => {
      const selector = selectorLabels(model);
      const podLabels = children.deployment.spec.template.metadata?.labels ?? {};
      expect(children.deployment.spec.selector).toEqual({ matchLabels: selector });
      expect(children.service.spec.selector).toEqual(selector);
      if (children.pdb) expect(children.pdb.spec.selector).toEqual({ matchLabels: selector });
      expect(podLabels).toMatchObject(selector);
      expect(selectorFor(model).split(',').sort()).toEqual(Object.entries(selector).map(([k, v]) => `${k}=${v}`).sort());
    });
  });

  it('sets Deployment replicas exactly when no autoscaler owns them, and makes at most one autoscaler', () => {
    property((model, children, defaults) => {
      const signal = engineSignalOf(model.spec.autoscaling?.target);
      const keda = signal !== undefined && defaults.scaledObjects && defaults.prometheusAddress !== undefined;
      expect(children.hpa !== undefined).toBe(autoscaled(model) && signal === undefined);
      expect(children.scaledObject !== undefined).toBe(autoscaled(model) && keda);
      expect('replicas' in children.deployment.spec).toBe(children.hpa === undefined && children.scaledObject === undefined);
      if (model.spec.suspend) expect(children.deployment.spec.replicas).toBe(0);
    });
  });

  it('gives the ScaledObject the spec bounds, the model Deployment, one summed Prometheus query of its pods, and a wake trigger reading exactly scaleFromZero', () => {
    property((model, children) => {
      if (!children.scaledObject) return;
      const { minReplicaCount, maxReplicaCount, scaleTargetRef, triggers } = children.scaledObject.spec;
      const autoscaling = model.spec.autoscaling!;
      expect([minReplicaCount, maxReplicaCount]).toEqual([autoscaling.minReplicas, autoscaling.maxReplicas]);
      expect(scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: children.deployment.metadata.name });
      expect(triggers).toHaveLength(autoscaling.scaleFromZero === undefined ? 1 : 2);
      expect(triggers[0]!.metadata.query).toContain(`{namespace="${model.metadata.namespace}",pod=~"${children.deployment.metadata.name}-[a-z0-9]+-[a-z0-9]+"})`);
      expect(Number(triggers[0]!.metadata.threshold)).toBeGreaterThan(0);
      if (autoscaling.scaleFromZero === undefined) return;
      expect(autoscaling.minReplicas).toBe(0);
      expect(triggers[1]!.metadata.threshold).toBe('1');
      // Read the selector back as Prometheus would: the metric and every label, values unescaped.
      const wake = /^clamp_max\(sum\(([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}\), 1\)$/.exec(triggers[1]!.metadata.query!);
      expect(wake?.[1]).toBe(autoscaling.scaleFromZero.metric);
      const matchers = [...wake![2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)=("(?:[^"\\]|\\.)*")(,|$)/g)];
      expect(matchers.map((m) => m[0]).join('')).toBe(wake![2]);
      expect(matchers.map((m) => ({ name: m[1], value: JSON.parse(m[2]!) }))).toEqual(autoscaling.scaleFromZero.matchLabels);
    });
  });

  it('gives the HPA valid bounds and a target of the model Deployment', () => {
    property((model, children) => {
      if (!children.hpa) return;
      const { minReplicas, maxReplicas, scaleTargetRef, metrics } = children.hpa.spec;
      expect(minReplicas).toBeGreaterThanOrEqual(1);
      expect(minReplicas).toBeLessThanOrEqual(maxReplicas);
      expect(scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: children.deployment.metadata.name });
      expect(metrics?.length).toBeGreaterThan(0);
      expect(maxReplicas).toBe(model.spec.autoscaling!.maxReplicas);
    });
  });

  it('creates a PVC only for volumeClaim storage, and mounts it', () => {
    property((model, children) => {
      expect(children.pvc !== undefined).toBe(model.spec.storage.volumeClaim !== undefined);
      const claims = (children.deployment.spec.template.spec!.volumes ?? []).flatMap((v) => v.persistentVolumeClaim?.claimName ?? []);
      if (children.pvc) expect(claims).toEqual([children.pvc.metadata.name]);
    });
  });

  it('creates no PDB while suspended or disabled', () => {
    property((model, children) => {
      expect(children.pdb !== undefined).toBe(model.spec.podDisruptionBudget.enabled && !model.spec.suspend);
    });
  });

  it('produces pods that satisfy the restricted Pod Security Standard, whatever the engine, source and ids', () => {
    property((model, children) => {
      const pod = children.deployment.spec.template.spec!;
      expect(restrictedViolations(pod)).toEqual([]);
      // The token of the namespace's default account is never mounted; a named account's is.
      expect(pod.automountServiceAccountToken).toBe(model.spec.serviceAccountName !== undefined);
      expect(pod.serviceAccountName).toBe(model.spec.serviceAccountName);
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        expect(container.securityContext?.runAsNonRoot).toBe(true);
        expect(container.securityContext?.runAsUser).toBeUndefined();
      }
      if (model.spec.securityContext?.platformAssignedIds === true) {
        expect(pod.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      }
    });
  });

  it('gives every container a consistent pod: unique env names, mounts of existing volumes at distinct paths', () => {
    property((_, children) => {
      const pod = children.deployment.spec.template.spec!;
      const volumes = new Set((pod.volumes ?? []).map((volume) => volume.name));
      expect(volumes.size).toBe(pod.volumes?.length);
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        const names = (container.env ?? []).map((variable) => variable.name);
        expect(new Set(names).size, names.join(',')).toBe(names.length);
        const paths = (container.volumeMounts ?? []).map((mount) => mount.mountPath);
        expect(new Set(paths).size).toBe(paths.length);
        for (const mount of container.volumeMounts ?? []) expect(volumes.has(mount.name), mount.name).toBe(true);
      }
    });
  });

  it('holds GPUs in the model container only, and gives GPU models an in-memory /dev/shm', () => {
    property((model, children) => {
      const pod = children.deployment.spec.template.spec!;
      for (const init of pod.initContainers ?? []) {
        expect(Object.keys({ ...init.resources?.requests, ...init.resources?.limits }).filter((name) => name.includes('/'))).toEqual([]);
      }
      const shm = pod.volumes?.find((volume) => volume.name === 'dshm');
      const gpus = Number(pod.containers[0]!.resources?.limits?.['nvidia.com/gpu'] ?? 0);
      if (gpus > 0 && model.spec.sharedMemorySize === undefined) expect(shm?.emptyDir?.medium).toBe('Memory');
      if (shm !== undefined) expect(pod.containers[0]!.volumeMounts).toContainEqual({ name: 'dshm', mountPath: '/dev/shm' });
    });
  });

  it('labels the pods with the engine, and runs an init container only to fetch weights', () => {
    property((model, children) => {
      const pod = children.deployment.spec.template.spec!;
      expect(children.deployment.spec.template.metadata?.labels?.['ai.openai.com/engine']).toBe(model.spec.engine);
      const scheme = model.spec.source?.uri.split(':')[0];
      const fetches = (scheme === 'hf' && model.spec.engine !== 'llamacpp') || (model.spec.engine === 'ollama' && (scheme === undefined || scheme === 'hf'));
      expect((pod.initContainers ?? []).map((init) => init.name)).toEqual(fetches ? ['model-download'] : []);
    });
  });

  it('passes MODEL from spec.model first, and mounts the model volume at /models', () => {
    property((model, children) => {
      const container = children.deployment.spec.template.spec!.containers[0]!;
      expect(container.env?.[0]).toEqual({ name: 'MODEL', value: model.spec.model });
      expect(container.env?.filter((e) => e.name === 'MODEL')).toHaveLength(1);
      expect(container.volumeMounts).toContainEqual(expect.objectContaining({ name: 'models', mountPath: '/models' }));
      expect(container.ports).toEqual([{ name: 'http', containerPort: model.spec.port, protocol: 'TCP' }]);
    });
  });

  it('states only opinions: no undefined values, no empty objects, plain JSON', () => {
    property((_, children) => {
      expect(noise(children)).toEqual([]);
      expect(JSON.parse(JSON.stringify(children))).toEqual(children);
    });
  });

  it('is deterministic and leaves the model untouched', () => {
    fc.assert(
      fc.property(arbitraryAIModel(), operatorDefaults, (model, defaults) => {
        const before = structuredClone(model);
        const first = desiredChildren(model, defaults);
        expect(model).toEqual(before);
        expect(desiredChildren(structuredClone(model), { ...defaults })).toEqual(first);
      }),
      { numRuns: 200 },
    );
  });

  it('never throws for a valid model', () => {
    fc.assert(
      fc.property(arbitraryAIModel(), (model) => {
        desiredChildren(model, DEFAULT_OPERATOR_DEFAULTS);
      }),
      { numRuns: 300 },
    );
  });
});
