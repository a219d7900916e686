import { describe, expect, it } from 'vitest';
import type { AIModelSpecInput } from '../api/v1/aimodel.ts';
import { desiredChildren, type DesiredChildren } from './children.ts';
import { DEFAULT_OPERATOR_DEFAULTS, type OperatorDefaults } from './defaults.ts';
import { deploymentReplicas, progressDeadlineSeconds } from './deployment.ts';
import { aimodel, TEST_UID } from './testing.ts';

const defaults = DEFAULT_OPERATOR_DEFAULTS;
const children = (spec: Partial<AIModelSpecInput> = {}, config: OperatorDefaults = defaults, name?: string) =>
  desiredChildren(aimodel(spec, name), config);
const pod = (c: DesiredChildren) => c.deployment.spec.template.spec!;
const container = (c: DesiredChildren) => pod(c).containers[0]!;
const kinds = (c: DesiredChildren) => Object.keys(c).sort();

const seedSpec = { replicas: 5, autoscaling: { minReplicas: 2, maxReplicas: 20 } };

describe('desiredChildren for the seed model', () => {
  const c = children(seedSpec);
  const labels = {
    'app.kubernetes.io/name': 'aimodel',
    'app.kubernetes.io/instance': 'gpt-4o-agent',
    'app.kubernetes.io/component': 'inference',
    'app.kubernetes.io/managed-by': 'aimodel-operator',
    'ai.openai.com/model': 'gpt-4o-agent',
  };
  const selector = { 'app.kubernetes.io/name': 'aimodel', 'app.kubernetes.io/instance': 'gpt-4o-agent' };
  const owner = {
    apiVersion: 'ai.openai.com/v1',
    kind: 'AIModel',
    name: 'gpt-4o-agent',
    uid: TEST_UID,
    controller: true,
    blockOwnerDeletion: true,
  };

  it('creates a Deployment, Service, HPA and PDB, but no PVC', () => {
    expect(kinds(c)).toEqual(['deployment', 'hpa', 'pdb', 'service']);
  });

  it('names, labels and owns every child the same way', () => {
    for (const child of Object.values(c)) {
      expect(child.metadata).toEqual({ name: 'gpt-4o-agent', namespace: 'models', labels, ownerReferences: [owner] });
    }
  });

  it('leaves the Deployment replica count to the HPA', () => {
    expect(c.deployment.spec).not.toHaveProperty('replicas');
    expect(c.hpa!.spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'gpt-4o-agent' },
      minReplicas: 2,
      maxReplicas: 20,
      // The seed names no CPU request: 80% of the operator's default request (1 CPU) per pod, which needs none.
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'AverageValue', averageValue: '800m' } } }],
    });
  });

  it('runs the default image with MODEL, port 8000, /models, writable HOME and /tmp, and slow-load probes', () => {
    expect(container(c)).toEqual({
      name: 'inference',
      image: 'openai/chatgpt-local:latest',
      ports: [{ name: 'http', containerPort: 8000, protocol: 'TCP' }],
      env: [
        { name: 'MODEL', value: 'gpt-4o-agent' },
        { name: 'HOME', value: '/home/aimodel' },
        { name: 'XDG_CACHE_HOME', value: '/home/aimodel/.cache' },
        { name: 'HF_HOME', value: '/home/aimodel/.cache/huggingface' },
      ],
      volumeMounts: [
        { name: 'models', mountPath: '/models' },
        { name: 'home', mountPath: '/home/aimodel' },
        { name: 'tmp', mountPath: '/tmp' },
      ],
      securityContext: {
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
      },
      startupProbe: {
        httpGet: { path: '/health', port: 'http' },
        initialDelaySeconds: 0,
        periodSeconds: 10,
        timeoutSeconds: 5,
        failureThreshold: 180,
      },
      readinessProbe: {
        httpGet: { path: '/health', port: 'http' },
        initialDelaySeconds: 0,
        periodSeconds: 10,
        timeoutSeconds: 5,
        failureThreshold: 3,
        successThreshold: 1,
      },
      livenessProbe: {
        httpGet: { path: '/health', port: 'http' },
        initialDelaySeconds: 0,
        periodSeconds: 20,
        timeoutSeconds: 5,
        failureThreshold: 3,
      },
    });
  });

  it('sets up the pod for the restricted Pod Security level with an emptyDir for the weights', () => {
    const { containers, ...rest } = pod(c);
    expect(containers).toHaveLength(1);
    expect(rest).toEqual({
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 1000,
        runAsGroup: 1000,
        fsGroup: 1000,
        fsGroupChangePolicy: 'OnRootMismatch',
        seccompProfile: { type: 'RuntimeDefault' },
      },
      volumes: [
        { name: 'models', emptyDir: {} },
        { name: 'home', emptyDir: {} },
        { name: 'tmp', emptyDir: {} },
      ],
    });
  });

  it('selects pods by name and instance only, and rolls out without surging', () => {
    expect(c.deployment.spec.selector).toEqual({ matchLabels: selector });
    expect(c.deployment.spec.template.metadata).toEqual({ labels: { ...labels, 'ai.openai.com/engine': 'openai-compatible' } });
    expect(c.deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(c.deployment.spec.progressDeadlineSeconds).toBe(2100);
  });

  it('exposes port 8000 as http on a ClusterIP Service', () => {
    expect(c.service.spec).toEqual({
      type: 'ClusterIP',
      selector,
      ports: [{ name: 'http', port: 8000, targetPort: 'http', protocol: 'TCP' }],
    });
  });

  it('protects the pods with a PDB that lets one go at a time', () => {
    expect(c.pdb!.spec).toEqual({ selector: { matchLabels: selector }, maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
  });
});

describe('replicas', () => {
  it.each([
    ['no replicas, no autoscaling', {}, 1, true],
    ['explicit replicas', { replicas: 3 }, 3, false],
    ['zero replicas', { replicas: 0 }, 0, false],
    ['autoscaling', { autoscaling: { maxReplicas: 4 } }, undefined, true],
    ['autoscaling with replicas', { replicas: 3, autoscaling: { maxReplicas: 4 } }, undefined, true],
    ['suspended', { suspend: true, replicas: 3 }, 0, false],
    ['suspended while autoscaling', { suspend: true, autoscaling: { minReplicas: 2, maxReplicas: 4 } }, 0, false],
  ] as [string, Partial<AIModelSpecInput>, number | undefined, boolean][])('%s → %s', (_, spec, replicas) => {
    const c = children(spec);
    expect(c.deployment.spec.replicas).toBe(replicas);
    expect('replicas' in c.deployment.spec).toBe(replicas !== undefined);
    expect(deploymentReplicas(aimodel(spec).spec)).toBe(replicas);
  });

  it.each([
    ['autoscaling', { autoscaling: { maxReplicas: 4 } }, ['deployment', 'hpa', 'pdb', 'service']],
    ['static', { replicas: 2 }, ['deployment', 'pdb', 'service']],
    ['suspended', { suspend: true, autoscaling: { maxReplicas: 4 } }, ['deployment', 'service']],
    ['PDB disabled', { podDisruptionBudget: { enabled: false } }, ['deployment', 'service']],
  ] as [string, Partial<AIModelSpecInput>, string[]][])('%s creates %j', (_, spec, expected) => {
    expect(kinds(children(spec))).toEqual(expected);
  });
});

describe('autoscaling metrics', () => {
  const queue = {
    type: 'Pods' as const,
    pods: { metric: { name: 'vllm:num_requests_waiting' }, target: { type: 'AverageValue' as const, averageValue: 5 } },
  };
  const cpu = (averageUtilization: number) => ({
    type: 'Resource',
    resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization } },
  });
  const queueOut = {
    type: 'Pods',
    pods: { metric: { name: 'vllm:num_requests_waiting' }, target: { type: 'AverageValue', averageValue: '5' } },
  };

  it.each([
    ['nothing set: CPU at 80%', {}, [cpu(80)]],
    ['CPU target only', { targetCPUUtilizationPercentage: 60 }, [cpu(60)]],
    ['custom metrics only: no CPU', { metrics: [queue] }, [queueOut]],
    ['both', { targetCPUUtilizationPercentage: 70, metrics: [queue] }, [cpu(70), queueOut]],
  ] as [string, object, object[]][])('%s', (_, extra, metrics) => {
    // With a CPU request, utilisation (see autoscaling.test.ts for models without one).
    expect(children({ resources: { requests: { cpu: '2' } }, autoscaling: { maxReplicas: 8, ...extra } }).hpa!.spec.metrics).toEqual(metrics);
  });

  it('passes external metrics with selectors and behavior through', () => {
    const behavior = {
      scaleDown: { stabilizationWindowSeconds: 900, policies: [{ type: 'Pods' as const, value: 1, periodSeconds: 300 }] },
      scaleUp: { selectPolicy: 'Max' as const },
    };
    const external = {
      type: 'External' as const,
      external: {
        metric: { name: 'queue_messages_ready', selector: { matchLabels: { queue: 'inference' } } },
        target: { type: 'Value' as const, value: '2k' },
      },
    };
    const hpa = children({ autoscaling: { maxReplicas: 8, metrics: [external], behavior } }).hpa!;
    expect(hpa.spec.metrics).toEqual([external]);
    expect(hpa.spec.behavior).toEqual(behavior);
  });
});

describe('GPUs', () => {
  const gpuToleration = { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' };

  it('tolerate the GPU taint and mirror GPU requests into limits', () => {
    const c = children({ resources: { requests: { cpu: '4', memory: '32Gi', 'nvidia.com/gpu': 1 } } });
    expect(pod(c).tolerations).toEqual([gpuToleration]);
    expect(container(c).resources).toEqual({
      requests: { cpu: '4', memory: '32Gi', 'nvidia.com/gpu': '1' },
      limits: { 'nvidia.com/gpu': '1' },
    });
  });

  it.each([
    ['the user already tolerates the GPU taint', { tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists' as const }] }, defaults, 1],
    ['the user tolerates everything', { tolerations: [{ operator: 'Exists' as const }] }, defaults, 1],
    ['the operator is told not to', {}, { ...defaults, gpuToleration: false }, 0],
  ] as [string, Partial<AIModelSpecInput>, OperatorDefaults, number][])('add no toleration when %s', (_, spec, config, count) => {
    const c = children({ ...spec, resources: { limits: { 'nvidia.com/gpu': 2 } } }, config);
    expect(pod(c).tolerations ?? []).toHaveLength(count);
    expect(pod(c).tolerations ?? []).not.toContainEqual(gpuToleration);
  });

  it('add nothing for CPU-only models', () => {
    const c = children({ resources: { requests: { cpu: '500m' }, limits: { cpu: 1, memory: '1Gi' } } });
    expect(pod(c)).not.toHaveProperty('tolerations');
    expect(container(c).resources).toEqual({ requests: { cpu: '500m' }, limits: { cpu: '1', memory: '1Gi' } });
  });

  it('keep user tolerations, then append the GPU one', () => {
    const c = children({
      tolerations: [{ key: 'dedicated', value: 'inference', effect: 'NoSchedule' }],
      resources: { requests: { 'nvidia.com/gpu': 1 } },
    });
    expect(pod(c).tolerations).toEqual([
      { key: 'dedicated', operator: 'Equal', value: 'inference', effect: 'NoSchedule' },
      gpuToleration,
    ]);
  });
});

describe('storage', () => {
  it.each([
    ['default emptyDir', {}, { name: 'models', emptyDir: {} }],
    ['sized in-memory emptyDir', { emptyDir: { sizeLimit: '20Gi', medium: 'Memory' as const } }, { name: 'models', emptyDir: { sizeLimit: '20Gi', medium: 'Memory' } }],
    ['existing claim', { existingClaim: { claimName: 'llama-weights' } }, { name: 'models', persistentVolumeClaim: { claimName: 'llama-weights' } }],
    ['operator-made claim', { volumeClaim: { size: '200Gi' } }, { name: 'models', persistentVolumeClaim: { claimName: 'gpt-4o-agent-models' } }],
  ] as [string, AIModelSpecInput['storage'], object][])('%s', (_, storage, volume) => {
    const c = children(storage === undefined || Object.keys(storage).length === 0 ? {} : { storage });
    expect(pod(c).volumes![0]).toEqual(volume);
    expect(c.pvc !== undefined).toBe(storage?.volumeClaim !== undefined);
  });

  it('creates the claim for volumeClaim with class and access modes', () => {
    const c = children({ storage: { volumeClaim: { size: 200 * 2 ** 30, storageClassName: 'fast-ssd', accessModes: ['ReadWriteMany'] } } });
    expect(c.pvc).toEqual({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: expect.objectContaining({ name: 'gpt-4o-agent-models', namespace: 'models' }),
      spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '214748364800' } }, storageClassName: 'fast-ssd' },
    });
  });

  it('defaults the claim to ReadWriteOnce and the cluster default class', () => {
    expect(children({ storage: { volumeClaim: { size: '1Ti' } } }).pvc!.spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Ti' } },
    });
  });
});

describe('probes and rollout', () => {
  it('omits disabled probes', () => {
    const c = children({ probes: { startup: { enabled: false }, liveness: { enabled: false } } });
    expect(container(c)).not.toHaveProperty('startupProbe');
    expect(container(c)).not.toHaveProperty('livenessProbe');
    expect(container(c).readinessProbe).toBeDefined();
  });

  it.each([
    ['default 30 minute startup budget', {}, 2100],
    ['3 hour budget', { startup: { periodSeconds: 2, failureThreshold: 5400 } }, 11100],
    ['quick start keeps the Kubernetes default', { startup: { failureThreshold: 6 } }, 600],
    ['no startup probe', { startup: { enabled: false } }, 600],
    ['initial delay counts', { startup: { initialDelaySeconds: 600, failureThreshold: 60 } }, 1500],
  ] as [string, AIModelSpecInput['probes'], number][])('progress deadline: %s', (_, probes, seconds) => {
    const model = aimodel({ probes });
    expect(progressDeadlineSeconds(model.spec)).toBe(seconds);
    expect(desiredChildren(model, defaults).deployment.spec.progressDeadlineSeconds).toBe(seconds);
  });

  it.each([
    ['Recreate', { type: 'Recreate' as const }, { type: 'Recreate' }],
    ['surge allowed', { rollingUpdate: { maxSurge: '25%' } }, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } }],
    ['no unavailability', { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }],
  ] as [string, AIModelSpecInput['strategy'], object][])('strategy: %s', (_, strategy, expected) => {
    expect(children({ strategy }).deployment.spec.strategy).toEqual(expected);
  });
});

describe('container and pod settings', () => {
  it('puts MODEL first, then the writable paths, then the user env, secret references untouched', () => {
    const env = [
      { name: 'MAX_TOKENS', value: '4096' },
      { name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: 'hf', key: 'token' } } },
      { name: 'CONFIG', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'config.json', optional: true } } },
      { name: 'EMPTY' },
    ];
    expect(container(children({ model: 'meta-llama/Llama-3.1-8B-Instruct', env })).env).toEqual([
      { name: 'MODEL', value: 'meta-llama/Llama-3.1-8B-Instruct' },
      { name: 'HOME', value: '/home/aimodel' },
      { name: 'XDG_CACHE_HOME', value: '/home/aimodel/.cache' },
      { name: 'HF_HOME', value: '/home/aimodel/.cache/huggingface' },
      ...env,
    ]);
  });

  it('lets a user variable replace the engine\'s of the same name, in place', () => {
    const env = container(children({ engine: 'ollama', env: [{ name: 'EXTRA', value: '1' }, { name: 'OLLAMA_KEEP_ALIVE', value: '10m' }, { name: 'HOME', value: '/data' }] })).env!;
    expect(env.map((variable) => variable.name)).toEqual([
      'MODEL',
      'HOME',
      'XDG_CACHE_HOME',
      'HF_HOME',
      'OLLAMA_HOST',
      'OLLAMA_MODELS',
      'OLLAMA_KEEP_ALIVE',
      'EXTRA',
    ]);
    expect(env.find((variable) => variable.name === 'OLLAMA_KEEP_ALIVE')).toEqual({ name: 'OLLAMA_KEEP_ALIVE', value: '10m' });
    expect(env.find((variable) => variable.name === 'HOME')).toEqual({ name: 'HOME', value: '/data' });
  });

  it('appends user args after the engine\'s, and lets spec.command take over the whole command line', () => {
    expect(container(children({ engine: 'vllm', args: ['--max-model-len', '8192'] })).args!.slice(-2)).toEqual(['--max-model-len', '8192']);
    expect(container(children({ engine: 'vllm', args: ['--max-model-len', '8192'] })).args![0]).toBe('/models');
    const own = container(children({ engine: 'vllm', command: ['python3', '-m', 'vllm.entrypoints.openai.api_server'], args: ['--model', '/models'] }));
    expect(own.command).toEqual(['python3', '-m', 'vllm.entrypoints.openai.api_server']);
    expect(own.args).toEqual(['--model', '/models']);
  });

  it('uses the spec image, pull policy, command, args and port', () => {
    const c = children({
      image: 'vllm/vllm-openai:v0.9.2',
      imagePullPolicy: 'IfNotPresent',
      command: ['python3', '-m', 'vllm.entrypoints.openai.api_server'],
      args: ['--max-model-len', '8192'],
      port: 9000,
    });
    expect(container(c)).toMatchObject({
      image: 'vllm/vllm-openai:v0.9.2',
      imagePullPolicy: 'IfNotPresent',
      command: ['python3', '-m', 'vllm.entrypoints.openai.api_server'],
      args: ['--max-model-len', '8192'],
      ports: [{ name: 'http', containerPort: 9000, protocol: 'TCP' }],
    });
    expect(c.service.spec.ports).toEqual([{ name: 'http', port: 9000, targetPort: 'http', protocol: 'TCP' }]);
  });

  it('takes the image from the operator when the spec has none', () => {
    expect(container(children({}, { ...defaults, defaultImage: 'registry.local/chatgpt-local:1.2' })).image).toBe(
      'registry.local/chatgpt-local:1.2',
    );
  });

  it('adds pod labels and annotations to the template only, under the operator labels', () => {
    const c = children({ podLabels: { team: 'search' }, podAnnotations: { 'prometheus.io/scrape': 'true' } });
    expect(c.deployment.spec.template.metadata!.labels).toMatchObject({ team: 'search', 'app.kubernetes.io/instance': 'gpt-4o-agent' });
    expect(c.deployment.spec.template.metadata!.annotations).toEqual({ 'prometheus.io/scrape': 'true' });
    expect(c.deployment.metadata.labels).not.toHaveProperty('team');
    expect(c.deployment.metadata).not.toHaveProperty('annotations');
  });

  it('passes scheduling settings through', () => {
    const affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'gpu', operator: 'In', values: ['a100'] }] }],
        },
      },
    };
    const spec = pod(
      children({ nodeSelector: { pool: 'gpu' }, affinity, priorityClassName: 'inference', runtimeClassName: 'nvidia' }),
    );
    expect(spec).toMatchObject({ nodeSelector: { pool: 'gpu' }, affinity, priorityClassName: 'inference', runtimeClassName: 'nvidia' });
  });

  it.each([
    ['no uid or group', { runAsUser: undefined, runAsGroup: undefined, fsGroup: undefined }, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }],
    ['uid only', { runAsUser: 2000, runAsGroup: undefined, fsGroup: undefined }, { runAsNonRoot: true, runAsUser: 2000, seccompProfile: { type: 'RuntimeDefault' } }],
  ] as [string, Partial<OperatorDefaults>, object][])('pod security context with %s', (_, override, expected) => {
    expect(pod(children({}, { ...defaults, ...override })).securityContext).toEqual(expected);
  });

  it('keeps the root filesystem writable when the operator says so, still with a writable HOME for an arbitrary uid', () => {
    const c = children({}, { ...defaults, readOnlyRootFilesystem: false });
    expect(container(c).securityContext!.readOnlyRootFilesystem).toBe(false);
    expect(pod(c).volumes!.map((volume) => volume.name)).toEqual(['models', 'home', 'tmp']);
  });
});

describe('Service and PDB options', () => {
  it('applies the Service type, port and annotations', () => {
    const c = children({ service: { type: 'LoadBalancer', port: 80, annotations: { 'service.beta.kubernetes.io/aws-load-balancer-internal': 'true' } } });
    expect(c.service.metadata.annotations).toEqual({ 'service.beta.kubernetes.io/aws-load-balancer-internal': 'true' });
    expect(c.service.spec).toMatchObject({ type: 'LoadBalancer', ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] });
  });

  it.each([
    ['minAvailable', { minAvailable: '50%' }, { minAvailable: '50%' }],
    ['maxUnavailable', { maxUnavailable: 2 }, { maxUnavailable: 2 }],
  ] as [string, object, object][])('PDB with %s', (_, budget, expected) => {
    const spec = children({ replicas: 4, podDisruptionBudget: budget }).pdb!.spec;
    expect(spec).toEqual({ selector: spec.selector, unhealthyPodEvictionPolicy: 'AlwaysAllow', ...expected });
  });
});

describe('metrics of the inference pods', () => {
  const withRoute = (podMetrics: OperatorDefaults['podMetrics']) => ({ ...DEFAULT_OPERATOR_DEFAULTS, podMetrics });

  it('makes a PodMonitor that selects exactly the model pods on the engine metrics port and path', () => {
    const model = aimodel({ engine: 'sglang' });
    const children = desiredChildren(model, withRoute('PodMonitor'));
    expect(children.podMonitor).toMatchObject({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PodMonitor',
      metadata: { name: 'gpt-4o-agent', namespace: 'models', ownerReferences: [{ uid: TEST_UID, controller: true }] },
      spec: { podMetricsEndpoints: [{ port: 'http', path: '/metrics' }] },
    });
    expect(children.podMonitor?.spec.selector.matchLabels).toEqual(children.deployment.spec.selector?.matchLabels);
    expect(children.deployment.spec.template.metadata?.annotations?.['prometheus.io/scrape']).toBeUndefined();
    expect(desiredChildren(aimodel({ engine: 'trtllm' }), withRoute('PodMonitor')).podMonitor?.spec.podMetricsEndpoints).toEqual([{ port: 'http', path: '/prometheus/metrics' }]);
  });

  it('annotates the pods instead where no PodMonitor is made, and lets podAnnotations override', () => {
    const children = desiredChildren(aimodel({ engine: 'nim', port: 9000 }), withRoute('annotations'));
    expect(children.podMonitor).toBeUndefined();
    expect(children.deployment.spec.template.metadata?.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9000', 'prometheus.io/path': '/v1/metrics' });
    const off = desiredChildren(aimodel({ engine: 'vllm', podAnnotations: { 'prometheus.io/scrape': 'false' } }), withRoute('annotations'));
    expect(off.deployment.spec.template.metadata?.annotations?.['prometheus.io/scrape']).toBe('false');
  });

  it('announces nothing for an engine without metrics, or when told not to', () => {
    for (const route of ['PodMonitor', 'annotations', 'none'] as const) {
      const children = desiredChildren(aimodel({ engine: 'ollama' }), withRoute(route));
      expect(children.podMonitor).toBeUndefined();
      expect(children.deployment.spec.template.metadata?.annotations).toBeUndefined();
    }
    expect(desiredChildren(aimodel({ engine: 'vllm' }), withRoute('none')).deployment.spec.template.metadata?.annotations).toBeUndefined();
  });
});
