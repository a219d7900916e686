// Invalid AIModels, each with the rejection the API server must give and the field parseAIModel
// must report. The unit tests run the table through zod and the integration tests through the
// real API server, which is what keeps the CEL rules and their TypeScript twins in agreement.
import { API_VERSION, KIND, MAX_NAME_LENGTH } from './aimodel.ts';

export type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; spec: Record<string, unknown> };

export type InvalidExample = {
  title: string;
  manifest: Manifest;
  /** Each must appear in kubectl's error output. */
  expect: string[];
  /**
   * The path of the problem parseAIModel reports, or null for fields the API server refuses as
   * unknown while parseAIModel drops them, as pruning would.
   */
  path: string | null;
};

function model(spec: Record<string, unknown>, name = 'bad-model'): Manifest {
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name }, spec: { model: 'gpt-4o-agent', ...spec } };
}

const autoscaling = (extra: Record<string, unknown>) => ({ autoscaling: { minReplicas: 1, maxReplicas: 4, ...extra } });
const metric = (value: Record<string, unknown>) => autoscaling({ metrics: [value] });

export const invalidExamples: InvalidExample[] = [
  {
    title: 'minReplicas above maxReplicas',
    manifest: model({ autoscaling: { minReplicas: 5, maxReplicas: 2 } }),
    expect: ['spec.autoscaling.minReplicas must be less than or equal to spec.autoscaling.maxReplicas'],
    path: 'spec.autoscaling.minReplicas',
  },
  {
    title: 'replicas above maxReplicas while autoscaling',
    manifest: model({ replicas: 30, autoscaling: { minReplicas: 2, maxReplicas: 20 } }),
    expect: ['spec.replicas must lie within [spec.autoscaling.minReplicas, spec.autoscaling.maxReplicas]'],
    path: 'spec.replicas',
  },
  {
    title: 'replicas below minReplicas while autoscaling',
    manifest: model({ replicas: 1, autoscaling: { minReplicas: 2, maxReplicas: 20 } }),
    expect: ['spec.replicas must lie within'],
    path: 'spec.replicas',
  },
  {
    title: 'name longer than the cap',
    manifest: model({}, `m${'x'.repeat(MAX_NAME_LENGTH)}`),
    expect: [`metadata.name must be at most ${MAX_NAME_LENGTH} characters`],
    path: 'metadata.name',
  },
  {
    title: 'name starting with a digit (not a DNS-1035 label)',
    manifest: model({}, '4o-agent'),
    expect: ['metadata.name must start with a letter'],
    path: 'metadata.name',
  },
  {
    title: 'name with a dot',
    manifest: model({}, 'gpt.agent'),
    expect: ['metadata.name must start with a letter'],
    path: 'metadata.name',
  },
  { title: 'model missing', manifest: { ...model({}), spec: { replicas: 1 } }, expect: ['spec.model', 'Required value'], path: 'spec.model' },
  { title: 'model with a space', manifest: model({ model: 'gpt 4o' }), expect: ['spec.model', 'should match'], path: 'spec.model' },
  { title: 'negative replicas', manifest: model({ replicas: -1 }), expect: ['spec.replicas', 'greater than or equal to 0'], path: 'spec.replicas' },
  {
    title: 'maxReplicas zero',
    manifest: model({ autoscaling: { maxReplicas: 0 } }),
    expect: ['spec.autoscaling.maxReplicas', 'greater than or equal to 1'],
    path: 'spec.autoscaling.maxReplicas',
  },
  { title: 'port zero', manifest: model({ port: 0 }), expect: ['spec.port', 'greater than or equal to 1'], path: 'spec.port' },
  {
    title: 'CPU target above 100%',
    manifest: model(autoscaling({ targetCPUUtilizationPercentage: 150 })),
    expect: ['spec.autoscaling.targetCPUUtilizationPercentage', 'less than or equal to 100'],
    path: 'spec.autoscaling.targetCPUUtilizationPercentage',
  },
  {
    title: 'two storage kinds',
    manifest: model({ storage: { emptyDir: {}, existingClaim: { claimName: 'weights' } } }),
    expect: ['spec.storage must set exactly one of emptyDir, existingClaim or volumeClaim'],
    path: 'spec.storage',
  },
  {
    title: 'empty storage',
    manifest: model({ storage: {} }),
    expect: ['spec.storage must set exactly one of emptyDir, existingClaim or volumeClaim'],
    path: 'spec.storage',
  },
  {
    title: 'volumeClaim without size',
    manifest: model({ storage: { volumeClaim: { storageClassName: 'fast' } } }),
    expect: ['spec.storage.volumeClaim.size', 'Required value'],
    path: 'spec.storage.volumeClaim.size',
  },
  {
    title: 'env sets MODEL',
    manifest: model({ env: [{ name: 'MODEL', value: 'other' }] }),
    expect: ['spec.env must not set MODEL; it comes from spec.model'],
    path: 'spec.env',
  },
  {
    title: 'duplicate env names',
    manifest: model({ env: [{ name: 'A', value: '1' }, { name: 'A', value: '2' }] }),
    expect: ['spec.env[1]', 'Duplicate value'],
    path: 'spec.env',
  },
  {
    title: 'env with value and valueFrom',
    manifest: model({ env: [{ name: 'A', value: '1', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } }] }),
    expect: ['spec.env[].value and spec.env[].valueFrom are mutually exclusive'],
    path: 'spec.env[0]',
  },
  {
    title: 'valueFrom with both references',
    manifest: model({
      env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' }, secretKeyRef: { name: 's', key: 'k' } } }],
    }),
    expect: ['spec.env[].valueFrom must set exactly one of configMapKeyRef or secretKeyRef'],
    path: 'spec.env[0].valueFrom',
  },
  {
    title: 'too many env entries',
    manifest: model({ env: Array.from({ length: 129 }, (_, i) => ({ name: `V${i}`, value: 'x' })) }),
    expect: ['spec.env', 'must have at most 128 items'],
    path: 'spec.env',
  },
  {
    title: 'resource quantity that is not a quantity',
    manifest: model({ resources: { requests: { cpu: 'lots' } } }),
    expect: ['spec.resources.requests.cpu', 'should match'],
    path: 'spec.resources.requests.cpu',
  },
  {
    title: 'rollingUpdate with Recreate',
    manifest: model({ strategy: { type: 'Recreate', rollingUpdate: { maxSurge: 1 } } }),
    expect: ['spec.strategy.rollingUpdate may only be set when spec.strategy.type is RollingUpdate'],
    path: 'spec.strategy.rollingUpdate',
  },
  {
    title: 'rolling update that can never progress',
    manifest: model({ strategy: { rollingUpdate: { maxSurge: '0%', maxUnavailable: 0 } } }),
    expect: ['must not both be 0'],
    path: 'spec.strategy.rollingUpdate.maxUnavailable',
  },
  {
    title: 'maxUnavailable above 100%',
    manifest: model({ strategy: { rollingUpdate: { maxUnavailable: '150%' } } }),
    expect: ['spec.strategy.rollingUpdate.maxUnavailable', 'should match'],
    path: 'spec.strategy.rollingUpdate.maxUnavailable',
  },
  {
    title: 'ExternalName Service',
    manifest: model({ service: { type: 'ExternalName' } }),
    expect: ['spec.service.type', 'Unsupported value'],
    path: 'spec.service.type',
  },
  {
    title: 'PDB with both maxUnavailable and minAvailable',
    manifest: model({ podDisruptionBudget: { maxUnavailable: 1, minAvailable: 1 } }),
    expect: ['spec.podDisruptionBudget.maxUnavailable and spec.podDisruptionBudget.minAvailable are mutually exclusive'],
    path: 'spec.podDisruptionBudget',
  },
  {
    title: 'podLabels overriding the selector',
    manifest: model({ podLabels: { 'app.kubernetes.io/instance': 'someone-else' } }),
    expect: ["spec.podLabels must not set the operator's labels"],
    path: 'spec.podLabels',
  },
  {
    title: 'toleration Exists with a value',
    manifest: model({ tolerations: [{ key: 'gpu', operator: 'Exists', value: 'yes' }] }),
    expect: ['spec.tolerations[].value must be empty when operator is Exists'],
    path: 'spec.tolerations[0].value',
  },
  {
    title: 'tolerationSeconds without NoExecute',
    manifest: model({ tolerations: [{ key: 'gpu', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 60 }] }),
    expect: ['spec.tolerations[].tolerationSeconds requires effect NoExecute'],
    path: 'spec.tolerations[0].tolerationSeconds',
  },
  {
    title: 'autoscaling target naming two signals',
    manifest: model({ engine: 'vllm', ...autoscaling({ target: { queueLength: 5, runningRequests: 16 } }) }),
    expect: ['spec.autoscaling.target must set exactly one of cpuUtilizationPercent, queueLength, runningRequests, kvCacheUtilizationPercent'],
    path: 'spec.autoscaling.target',
  },
  {
    title: 'empty autoscaling target',
    manifest: model(autoscaling({ target: {} })),
    expect: ['spec.autoscaling.target must set exactly one of'],
    path: 'spec.autoscaling.target',
  },
  {
    title: 'queue-length target of zero',
    manifest: model({ engine: 'vllm', ...autoscaling({ target: { queueLength: 0 } }) }),
    expect: ['spec.autoscaling.target.queueLength', 'greater than or equal to 1'],
    path: 'spec.autoscaling.target.queueLength',
  },
  {
    title: 'negative running-requests target',
    manifest: model({ engine: 'sglang', ...autoscaling({ target: { runningRequests: -4 } }) }),
    expect: ['spec.autoscaling.target.runningRequests', 'greater than or equal to 1'],
    path: 'spec.autoscaling.target.runningRequests',
  },
  {
    title: 'KV-cache target of zero percent',
    manifest: model({ engine: 'vllm', ...autoscaling({ target: { kvCacheUtilizationPercent: 0 } }) }),
    expect: ['spec.autoscaling.target.kvCacheUtilizationPercent', 'greater than or equal to 1'],
    path: 'spec.autoscaling.target.kvCacheUtilizationPercent',
  },
  {
    title: 'CPU target of zero percent',
    manifest: model(autoscaling({ target: { cpuUtilizationPercent: 0 } })),
    expect: ['spec.autoscaling.target.cpuUtilizationPercent', 'greater than or equal to 1'],
    path: 'spec.autoscaling.target.cpuUtilizationPercent',
  },
  {
    title: 'minReplicas 0 with the default CPU target',
    manifest: model({ autoscaling: { minReplicas: 0, maxReplicas: 4 } }),
    expect: ['spec.autoscaling.minReplicas may be 0 only with an engine-signal target'],
    path: 'spec.autoscaling.minReplicas',
  },
  {
    title: 'minReplicas 0 with a CPU target',
    manifest: model({ engine: 'vllm', autoscaling: { minReplicas: 0, maxReplicas: 4, target: { cpuUtilizationPercent: 60 } } }),
    expect: ['spec.autoscaling.minReplicas may be 0 only with an engine-signal target'],
    path: 'spec.autoscaling.minReplicas',
  },
  {
    title: 'minReplicas 0 with an engine signal but nothing to wake the model',
    manifest: model({ engine: 'vllm', autoscaling: { minReplicas: 0, maxReplicas: 4, target: { queueLength: 5 } } }),
    expect: ['spec.autoscaling.minReplicas may be 0 only with spec.autoscaling.scaleFromZero'],
    path: 'spec.autoscaling.minReplicas',
  },
  {
    title: 'scaleFromZero with a floor above zero',
    manifest: model({ engine: 'vllm', ...autoscaling({ target: { queueLength: 5 }, scaleFromZero: { metric: 'queue', matchLabels: [{ name: 'model', value: 'm' }] } }) }),
    expect: ['spec.autoscaling.scaleFromZero applies only with spec.autoscaling.minReplicas: 0'],
    path: 'spec.autoscaling.scaleFromZero',
  },
  {
    title: 'scaleFromZero metric that is not a Prometheus metric name',
    manifest: model({ engine: 'vllm', autoscaling: { minReplicas: 0, maxReplicas: 4, target: { queueLength: 5 }, scaleFromZero: { metric: 'queue{x="1"}', matchLabels: [{ name: 'model', value: 'm' }] } } }),
    expect: ['spec.autoscaling.scaleFromZero.metric', 'should match'],
    path: 'spec.autoscaling.scaleFromZero.metric',
  },
  {
    title: 'scaleFromZero label that is not a Prometheus label name',
    manifest: model({ engine: 'vllm', autoscaling: { minReplicas: 0, maxReplicas: 4, target: { queueLength: 5 }, scaleFromZero: { metric: 'queue', matchLabels: [{ name: 'target-model', value: 'm' }] } } }),
    expect: ['spec.autoscaling.scaleFromZero.matchLabels[0].name', 'should match'],
    path: 'spec.autoscaling.scaleFromZero.matchLabels[0].name',
  },
  {
    title: 'scaleFromZero without a label, which would wake on every model behind the gateway',
    manifest: model({ engine: 'vllm', autoscaling: { minReplicas: 0, maxReplicas: 4, target: { queueLength: 5 }, scaleFromZero: { metric: 'queue', matchLabels: [] } } }),
    expect: ['spec.autoscaling.scaleFromZero.matchLabels', 'should have at least 1 items'],
    path: 'spec.autoscaling.scaleFromZero.matchLabels',
  },
  {
    title: 'queue-length target for Ollama, which exports no metrics',
    manifest: model({ engine: 'ollama', ...autoscaling({ target: { queueLength: 5 } }) }),
    expect: ['spec.autoscaling.target.queueLength: spec.engine openai-compatible, ollama exports no queue-length gauge'],
    path: 'spec.autoscaling.target.queueLength',
  },
  {
    title: 'running-requests target for the default openai-compatible engine',
    manifest: model(autoscaling({ target: { runningRequests: 8 } })),
    expect: ['spec.autoscaling.target.runningRequests: spec.engine openai-compatible, ollama exports no running-requests gauge'],
    path: 'spec.autoscaling.target.runningRequests',
  },
  {
    title: 'KV-cache target for llama.cpp, which has no KV gauge',
    manifest: model({ engine: 'llamacpp', ...autoscaling({ target: { kvCacheUtilizationPercent: 80 } }) }),
    expect: ['spec.autoscaling.target.kvCacheUtilizationPercent: spec.engine openai-compatible, llamacpp, tgi, ollama exports no KV-cache gauge'],
    path: 'spec.autoscaling.target.kvCacheUtilizationPercent',
  },
  {
    title: 'target beside targetCPUUtilizationPercentage',
    manifest: model(autoscaling({ target: { cpuUtilizationPercent: 60 }, targetCPUUtilizationPercentage: 70 })),
    expect: ['spec.autoscaling.targetCPUUtilizationPercentage and spec.autoscaling.target are mutually exclusive'],
    path: 'spec.autoscaling.targetCPUUtilizationPercentage',
  },
  {
    title: 'engine-signal target with raw HPA metrics',
    manifest: model({
      engine: 'vllm',
      ...autoscaling({ target: { queueLength: 5 }, metrics: [{ type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 80 } } }] }),
    }),
    expect: ['spec.autoscaling.metrics cannot be combined with an engine-signal target'],
    path: 'spec.autoscaling.metrics',
  },
  {
    title: 'metric whose source does not match its type',
    manifest: model(metric({ type: 'Pods', external: { metric: { name: 'q' }, target: { type: 'Value', value: 1 } } })),
    expect: ['must set exactly the source field named by type'],
    path: 'spec.autoscaling.metrics[0]',
  },
  {
    title: 'Resource metric with a Value target',
    manifest: model(metric({ type: 'Resource', resource: { name: 'memory', target: { type: 'Value', value: '1Gi' } } })),
    expect: ['spec.autoscaling.metrics[].resource.target.type must be Utilization or AverageValue'],
    path: 'spec.autoscaling.metrics[0].resource.target.type',
  },
  {
    title: 'Utilization target without averageUtilization',
    manifest: model(metric({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization' } } })),
    expect: ['averageUtilization is required when type is Utilization'],
    path: 'spec.autoscaling.metrics[0].resource.target',
  },
  {
    title: 'ContainerResource metric on another container',
    manifest: model(
      metric({
        type: 'ContainerResource',
        containerResource: { name: 'cpu', container: 'sidecar', target: { type: 'Utilization', averageUtilization: 50 } },
      }),
    ),
    expect: ['containerResource.container must be inference'],
    path: 'spec.autoscaling.metrics[0].containerResource.container',
  },
  {
    title: 'privileged is not part of the API',
    manifest: model({ privileged: true }),
    expect: ['unknown field "spec.privileged"'],
    path: null,
  },
  {
    title: 'hostNetwork is not part of the API',
    manifest: model({ hostNetwork: true }),
    expect: ['unknown field "spec.hostNetwork"'],
    path: null,
  },
  {
    title: 'source with an unknown scheme',
    manifest: model({ engine: 'vllm', source: { uri: 's3://weights/llama' } }),
    expect: ['spec.source.uri must be pvc://<claim>[/<sub/path>], hf://'],
    path: 'spec.source.uri',
  },
  {
    title: 'pvc:// source climbing out of the claim',
    manifest: model({ source: { uri: 'pvc://weights/../other-team' } }),
    expect: ['spec.source.uri must be pvc://'],
    path: 'spec.source.uri',
  },
  {
    title: 'hf:// source that is not a repository id',
    manifest: model({ engine: 'vllm', source: { uri: 'hf://meta llama/Llama-3.1-8B' } }),
    expect: ['spec.source.uri must be pvc://'],
    path: 'spec.source.uri',
  },
  {
    title: 'oci:// source without a repository',
    manifest: model({ source: { uri: 'oci://registry.example.com' } }),
    expect: ['spec.source.uri must be pvc://'],
    path: 'spec.source.uri',
  },
  {
    title: 'hf:// source for the openai-compatible engine, which has no downloader',
    manifest: model({ source: { uri: 'hf://meta-llama/Llama-3.1-8B-Instruct' } }),
    expect: ['spec.source: an hf:// source needs an engine with a downloader'],
    path: 'spec.source',
  },
  {
    title: 'pvc:// source together with a claim in spec.storage',
    manifest: model({ engine: 'vllm', source: { uri: 'pvc://weights/llama' }, storage: { volumeClaim: { size: '100Gi' } } }),
    expect: ['spec.storage must be left out when spec.source is pvc:// or oci://'],
    path: 'spec.storage',
  },
  {
    title: 'oci:// source together with a sized emptyDir',
    manifest: model({ engine: 'vllm', source: { uri: 'oci://registry.example.com/models/llama:1' }, storage: { emptyDir: { sizeLimit: '10Gi' } } }),
    expect: ['spec.storage must be left out when spec.source is pvc:// or oci://'],
    path: 'spec.storage',
  },
  {
    title: 'token Secret for an oci:// source',
    manifest: model({ source: { uri: 'oci://registry.example.com/models/llama:1', tokenSecretRef: { name: 'hf', key: 'token' } } }),
    expect: ['spec.source.tokenSecretRef is only for hf:// sources'],
    path: 'spec.source.tokenSecretRef',
  },
  {
    title: 'pull policy for an hf:// source',
    manifest: model({ engine: 'vllm', source: { uri: 'hf://Qwen/Qwen2.5-7B-Instruct', pullPolicy: 'Always' } }),
    expect: ['spec.source.pullPolicy is only for oci:// sources'],
    path: 'spec.source.pullPolicy',
  },
  {
    title: 'GGUF quantisation for an engine that does not read GGUF',
    manifest: model({ engine: 'vllm', source: { uri: 'hf://Qwen/Qwen2.5-7B-Instruct-GGUF:Q4_K_M' } }),
    expect: ['spec.source.uri: a :<quantization> suffix is only for spec.engine llamacpp and ollama'],
    path: 'spec.source',
  },
  {
    title: 'hf:// revision for Ollama, which cannot pin one',
    manifest: model({ engine: 'ollama', source: { uri: 'hf://bartowski/Llama-3.2-1B-Instruct-GGUF@main' } }),
    expect: ['cannot pin an hf:// revision'],
    path: 'spec.source',
  },
  {
    title: 'hf:// token for Ollama',
    manifest: model({ engine: 'ollama', source: { uri: 'hf://bartowski/Llama-3.2-1B-Instruct-GGUF', tokenSecretRef: { name: 'hf', key: 'token' } } }),
    expect: ['spec.source.tokenSecretRef: spec.engine ollama pulls from hf.co without a Hugging Face token'],
    path: 'spec.source',
  },
  {
    title: 'unknown engine',
    manifest: model({ engine: 'triton' }),
    expect: ['spec.engine', 'Unsupported value'],
    path: 'spec.engine',
  },
  {
    title: 'running as root (uid 0)',
    manifest: model({ securityContext: { runAsUser: 0 } }),
    expect: ['spec.securityContext.runAsUser', 'greater than or equal to 1'],
    path: 'spec.securityContext.runAsUser',
  },
  {
    title: 'platform-assigned ids together with a uid',
    manifest: model({ securityContext: { platformAssignedIds: true, runAsUser: 1000 } }),
    expect: ['spec.securityContext.platformAssignedIds leaves the ids to the platform'],
    path: 'spec.securityContext.platformAssignedIds',
  },
  {
    title: 'image pull secret that is not a Secret name',
    manifest: model({ imagePullSecrets: [{ name: 'NGC key' }] }),
    expect: ['spec.imagePullSecrets[0].name', 'should match'],
    path: 'spec.imagePullSecrets[0].name',
  },
  {
    title: 'ServiceAccount name that is not a name',
    manifest: model({ serviceAccountName: 'system:serviceaccount:kube-system:admin' }),
    expect: ['spec.serviceAccountName', 'should match'],
    path: 'spec.serviceAccountName',
  },
  {
    title: 'shared memory size that is not a quantity',
    manifest: model({ sharedMemorySize: 'lots' }),
    expect: ['spec.sharedMemorySize', 'should match'],
    path: 'spec.sharedMemorySize',
  },
];
