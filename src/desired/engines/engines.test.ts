// Each engine's pod, rendered, against that engine's contract as ../../../../shared/reference/engines.md
// states it: binary and arguments, bind address and port, probe paths, metrics switch and path,
// the gauge names autoscaling will query, writable paths and /dev/shm.
import type { V1Container, V1EnvVar, V1PodSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { AIModelSpecInput } from '../../api/v1/aimodel.ts';
import { type Engine, ENGINES } from '../../api/v1/engine.ts';
import { desiredChildren } from '../children.ts';
import { DEFAULT_OPERATOR_DEFAULTS } from '../defaults.ts';
import { metricsEndpoint } from '../deployment.ts';
import { aimodel } from '../testing.ts';
import { ENGINE_PRESETS } from './index.ts';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';
const GPU_RESOURCES = { requests: { cpu: '4', memory: '32Gi', 'nvidia.com/gpu': 2 } };

function render(spec: Partial<AIModelSpecInput>) {
  const model = aimodel({ model: MODEL, ...spec });
  const children = desiredChildren(model, DEFAULT_OPERATOR_DEFAULTS);
  const template = children.deployment.spec.template;
  const pod = template.spec!;
  return { model, pod, container: pod.containers[0]!, labels: template.metadata?.labels ?? {} };
}

/** The value that follows a flag, as the engines' parsers read it. */
function flag(container: V1Container, name: string): string | undefined {
  const args = container.args ?? [];
  const at = args.indexOf(name);
  return at === -1 ? undefined : args[at + 1];
}

function envValue(env: V1EnvVar[] | undefined, name: string): string | undefined {
  return env?.find((variable) => variable.name === name)?.value;
}

type Contract = {
  engine: Engine;
  /** The program the container runs; undefined where the image's entrypoint is the server. */
  command: string[] | undefined;
  /** Flags (with values) or variables that serve /models as the model id spec.model. */
  servesModel: (c: V1Container) => void;
  /** How it is made to listen on port 8000 of all interfaces. */
  listens: (c: V1Container) => void;
  probes: { startup: string; readiness: string; liveness: string };
  /** Startup budget in seconds: long enough for slow loads. */
  startupBudgetAtLeast: number;
  /** The switch that turns metrics on, when they are off by default. */
  metricsSwitch?: string;
  metricsPath: string | undefined;
  gauges: { queue?: string; running?: string; kvCacheUsage?: string };
  /** Tensor parallelism across the 2 GPUs of the GPU rendering. */
  tensorParallel?: [string, string];
};

const contracts: Contract[] = [
  {
    engine: 'openai-compatible',
    command: undefined,
    servesModel: (c) => expect(envValue(c.env, 'MODEL')).toBe(MODEL),
    listens: (c) => expect(c.args).toBeUndefined(),
    probes: { startup: '/health', readiness: '/health', liveness: '/health' },
    startupBudgetAtLeast: 1800,
    metricsPath: undefined,
    gauges: {},
  },
  {
    engine: 'vllm',
    command: ['vllm', 'serve'],
    servesModel: (c) => {
      expect(c.args![0]).toBe('/models');
      expect(flag(c, '--served-model-name')).toBe(MODEL);
    },
    listens: (c) => {
      expect(flag(c, '--host')).toBe('0.0.0.0');
      expect(flag(c, '--port')).toBe('8000');
    },
    probes: { startup: '/health', readiness: '/health', liveness: '/health' },
    startupBudgetAtLeast: 3600,
    metricsPath: '/metrics',
    gauges: { queue: 'vllm:num_requests_waiting', running: 'vllm:num_requests_running', kvCacheUsage: 'vllm:kv_cache_usage_perc' },
    tensorParallel: ['--tensor-parallel-size', '2'],
  },
  {
    engine: 'sglang',
    command: ['python3', '-m', 'sglang.launch_server'],
    servesModel: (c) => {
      expect(flag(c, '--model-path')).toBe('/models');
      expect(flag(c, '--served-model-name')).toBe(MODEL);
    },
    // SGLang binds 127.0.0.1 unless told.
    listens: (c) => {
      expect(flag(c, '--host')).toBe('0.0.0.0');
      expect(flag(c, '--port')).toBe('8000');
    },
    probes: { startup: '/health', readiness: '/health_generate', liveness: '/health' },
    startupBudgetAtLeast: 3600,
    metricsSwitch: '--enable-metrics',
    metricsPath: '/metrics',
    gauges: { queue: 'sglang:num_queue_reqs', running: 'sglang:num_running_reqs', kvCacheUsage: 'sglang:token_usage' },
    tensorParallel: ['--tp', '2'],
  },
  {
    engine: 'llamacpp',
    command: ['/app/llama-server'],
    servesModel: (c) => {
      expect(flag(c, '--model')).toBe('/models/model.gguf');
      expect(flag(c, '--alias')).toBe(MODEL);
    },
    // llama.cpp binds 127.0.0.1 and its default port changed between builds: both always given.
    listens: (c) => {
      expect(flag(c, '--host')).toBe('0.0.0.0');
      expect(flag(c, '--port')).toBe('8000');
    },
    probes: { startup: '/health', readiness: '/health', liveness: '/health' },
    startupBudgetAtLeast: 3600,
    metricsSwitch: '--metrics',
    metricsPath: '/metrics',
    // No KV-usage gauge upstream.
    gauges: { queue: 'llamacpp:requests_deferred', running: 'llamacpp:requests_processing' },
  },
  {
    engine: 'trtllm',
    command: ['trtllm-serve'],
    servesModel: (c) => {
      expect(c.args![0]).toBe('/models');
      expect(flag(c, '--served_model_name')).toBe(MODEL);
    },
    listens: (c) => {
      expect(flag(c, '--host')).toBe('0.0.0.0');
      expect(flag(c, '--port')).toBe('8000');
    },
    probes: { startup: '/health', readiness: '/health', liveness: '/health' },
    startupBudgetAtLeast: 3600,
    // Prometheus text; its /metrics is JSON.
    metricsPath: '/prometheus/metrics',
    gauges: { queue: 'trtllm_num_requests_waiting', running: 'trtllm_num_requests_running', kvCacheUsage: 'trtllm_kv_cache_utilization' },
    tensorParallel: ['--tp_size', '2'],
  },
  {
    engine: 'nim',
    command: undefined,
    servesModel: (c) => {
      expect(envValue(c.env, 'NIM_SERVED_MODEL_NAME')).toBe(MODEL);
      // The image is the model; its optimised profile is cached on the weights volume.
      expect(envValue(c.env, 'NIM_CACHE_PATH')).toBe('/models');
    },
    listens: (c) => expect(envValue(c.env, 'NIM_SERVER_PORT')).toBe('8000'),
    probes: { startup: '/v1/health/ready', readiness: '/v1/health/ready', liveness: '/v1/health/live' },
    startupBudgetAtLeast: 1200,
    metricsPath: '/v1/metrics',
    gauges: { queue: 'num_requests_waiting', running: 'num_requests_running', kvCacheUsage: 'gpu_cache_usage_perc' },
  },
  {
    engine: 'tgi',
    command: ['text-generation-launcher'],
    servesModel: (c) => {
      expect(flag(c, '--model-id')).toBe('/models');
      expect(flag(c, '--served-model-name')).toBe(MODEL);
    },
    // The image's PORT=80 is privileged: both the flag and the variable move it.
    listens: (c) => {
      expect(flag(c, '--hostname')).toBe('0.0.0.0');
      expect(flag(c, '--port')).toBe('8000');
      expect(envValue(c.env, 'PORT')).toBe('8000');
    },
    probes: { startup: '/health', readiness: '/health', liveness: '/health' },
    startupBudgetAtLeast: 3600,
    metricsPath: '/metrics',
    gauges: { queue: 'tgi_queue_size', running: 'tgi_batch_current_size' },
    tensorParallel: ['--num-shard', '2'],
  },
  {
    engine: 'ollama',
    command: ['/bin/ollama'],
    servesModel: (c) => {
      expect(c.args).toEqual(['serve']);
      expect(envValue(c.env, 'OLLAMA_MODELS')).toBe('/models');
    },
    listens: (c) => expect(envValue(c.env, 'OLLAMA_HOST')).toBe('0.0.0.0:8000'),
    probes: { startup: '/', readiness: '/', liveness: '/' },
    startupBudgetAtLeast: 1800,
    // No metrics upstream: no scrape target and no engine-signal autoscaling.
    metricsPath: undefined,
    gauges: {},
  },
];

function writablePaths(pod: V1PodSpec, container: V1Container) {
  const emptyDirs = new Set((pod.volumes ?? []).filter((volume) => volume.emptyDir !== undefined).map((volume) => volume.name));
  return (container.volumeMounts ?? []).filter((mount) => emptyDirs.has(mount.name)).map((mount) => mount.mountPath);
}

describe('engine presets against the engines\' contracts', () => {
  it('covers every engine', () => {
    expect(contracts.map((c) => c.engine).sort()).toEqual([...ENGINES].sort());
  });

  describe.each(contracts)('$engine', (contract) => {
    const cpu = render({ engine: contract.engine });
    const gpu = render({ engine: contract.engine, resources: GPU_RESOURCES });

    it('runs the engine\'s binary with a pinned image, and labels the pod with the engine', () => {
      expect(cpu.container.command).toEqual(contract.command);
      const image = cpu.container.image!;
      expect(image).toMatch(/:[^:/]+$/);
      if (contract.engine !== 'openai-compatible') expect(image).not.toMatch(/:latest$/);
      expect(cpu.labels['ai.openai.com/engine']).toBe(contract.engine);
    });

    it('serves the weights under /models as spec.model', () => {
      contract.servesModel(cpu.container);
      expect(cpu.container.volumeMounts).toContainEqual({ name: 'models', mountPath: '/models' });
      expect(envValue(cpu.container.env, 'MODEL')).toBe(MODEL);
    });

    it('listens on port 8000 of all interfaces, named http', () => {
      contract.listens(cpu.container);
      expect(cpu.container.ports).toEqual([{ name: 'http', containerPort: 8000, protocol: 'TCP' }]);
    });

    it('follows spec.port', () => {
      const moved = render({ engine: contract.engine, port: 9000 }).container;
      const mentions = [...(moved.args ?? []), ...(moved.env ?? []).map((variable) => variable.value ?? '')];
      if (contract.engine !== 'openai-compatible') expect(mentions.some((value) => value.endsWith('9000'))).toBe(true);
      expect(mentions.some((value) => value === '8000' || value.endsWith(':8000'))).toBe(false);
    });

    it('probes the engine\'s own endpoints, with a startup budget for slow loads', () => {
      const { startupProbe, readinessProbe, livenessProbe } = cpu.container;
      expect([startupProbe, readinessProbe, livenessProbe].map((probe) => probe?.httpGet)).toEqual([
        { path: contract.probes.startup, port: 'http' },
        { path: contract.probes.readiness, port: 'http' },
        { path: contract.probes.liveness, port: 'http' },
      ]);
      expect(startupProbe!.periodSeconds! * startupProbe!.failureThreshold!).toBeGreaterThanOrEqual(contract.startupBudgetAtLeast);
    });

    it('switches metrics on and says where they are', () => {
      if (contract.metricsSwitch !== undefined) expect(cpu.container.args).toContain(contract.metricsSwitch);
      expect(metricsEndpoint(cpu.model.spec)?.path).toBe(contract.metricsPath);
      expect(ENGINE_PRESETS[contract.engine].gauges).toEqual(contract.gauges);
    });

    it('has writable HOME, hub cache and /tmp on emptyDirs, under a read-only root filesystem', () => {
      expect(cpu.container.securityContext?.readOnlyRootFilesystem).toBe(true);
      expect(writablePaths(cpu.pod, cpu.container)).toEqual(expect.arrayContaining(['/home/aimodel', '/tmp']));
      expect(envValue(cpu.container.env, 'HOME')).toBe('/home/aimodel');
      expect(envValue(cpu.container.env, 'HF_HOME')?.startsWith('/home/aimodel/')).toBe(true);
    });

    it('gets an in-memory /dev/shm sized by its GPUs, and none without GPUs', () => {
      expect(gpu.pod.volumes).toContainEqual({ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '4Gi' } });
      expect(gpu.container.volumeMounts).toContainEqual({ name: 'dshm', mountPath: '/dev/shm' });
      expect(cpu.pod.volumes?.map((volume) => volume.name)).not.toContain('dshm');
    });

    it('shards across the GPUs it requests', () => {
      if (contract.tensorParallel === undefined) return;
      const [name, value] = contract.tensorParallel;
      expect(flag(gpu.container, name)).toBe(value);
      expect(flag(cpu.container, name)).toBeUndefined();
    });
  });
});

describe('engine images', () => {
  it('take spec.image first, then the operator\'s per-engine image, then the pinned one', () => {
    const withFlag = { ...DEFAULT_OPERATOR_DEFAULTS, engineImages: { vllm: 'registry.local/vllm-openai:v0.11.0' } };
    const image = (spec: Partial<AIModelSpecInput>, defaults = DEFAULT_OPERATOR_DEFAULTS) =>
      desiredChildren(aimodel(spec), defaults).deployment.spec.template.spec!.containers[0]!.image;
    expect(image({ engine: 'vllm' })).toBe(ENGINE_PRESETS.vllm.image);
    expect(image({ engine: 'vllm' }, withFlag)).toBe('registry.local/vllm-openai:v0.11.0');
    expect(image({ engine: 'vllm', image: 'mine/vllm:1' }, withFlag)).toBe('mine/vllm:1');
    // Only the engine named in the flag changes.
    expect(image({ engine: 'sglang' }, withFlag)).toBe(ENGINE_PRESETS.sglang.image);
    expect(image({}, { ...DEFAULT_OPERATOR_DEFAULTS, defaultImage: 'registry.local/chatgpt-local:2' })).toBe('registry.local/chatgpt-local:2');
  });

  it('use llama.cpp\'s CUDA build for GPU models', () => {
    expect(render({ engine: 'llamacpp' }).container.image).toBe(ENGINE_PRESETS.llamacpp.image);
    expect(render({ engine: 'llamacpp', resources: GPU_RESOURCES }).container.image).toBe(ENGINE_PRESETS.llamacpp.gpuImage);
    expect(flag(render({ engine: 'llamacpp', resources: GPU_RESOURCES }).container, '--n-gpu-layers')).toBe('999');
  });
});

describe('probes', () => {
  it('take each field the user set over the engine\'s, and the rest from the engine', () => {
    const { container } = render({ engine: 'nim', probes: { readiness: { path: '/v1/models' }, startup: { failureThreshold: 720 } } });
    expect(container.readinessProbe?.httpGet?.path).toBe('/v1/models');
    expect(container.livenessProbe?.httpGet?.path).toBe('/v1/health/live');
    expect(container.startupProbe).toMatchObject({ httpGet: { path: '/v1/health/ready' }, periodSeconds: 10, failureThreshold: 720 });
  });

  it('follow the engine when the engine changes', () => {
    expect(render({ engine: 'ollama' }).container.readinessProbe?.httpGet?.path).toBe('/');
    expect(render({ engine: 'sglang' }).container.readinessProbe?.httpGet?.path).toBe('/health_generate');
  });
});
