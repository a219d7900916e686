// The pod fields real serving needs: where the weights come from (spec.source), who the pod runs
// as, pull secrets, the ServiceAccount and /dev/shm.
import { describe, expect, it } from 'vitest';
import type { AIModelSpecInput } from '../api/v1/aimodel.ts';
import { desiredChildren } from './children.ts';
import { DEFAULT_OPERATOR_DEFAULTS, type OperatorDefaults } from './defaults.ts';
import { progressDeadlineSeconds, userClaimName } from './deployment.ts';
import { aimodel } from './testing.ts';

const render = (spec: Partial<AIModelSpecInput>, defaults: OperatorDefaults = DEFAULT_OPERATOR_DEFAULTS) => {
  const children = desiredChildren(aimodel({ model: 'meta-llama/Llama-3.1-8B-Instruct', ...spec }), defaults);
  const pod = children.deployment.spec.template.spec!;
  return { children, pod, container: pod.containers[0]!, init: pod.initContainers };
};
const token = { name: 'huggingface', key: 'token' };
const tokenEnv = { name: 'HF_TOKEN', valueFrom: { secretKeyRef: token } };

describe('spec.source', () => {
  it('pvc:// mounts the claim\'s sub-path at /models in place of spec.storage, with no download', () => {
    const { pod, container, init, children } = render({ engine: 'vllm', source: { uri: 'pvc://weights/llama/3.1-8b' } });
    expect(pod.volumes![0]).toEqual({ name: 'models', persistentVolumeClaim: { claimName: 'weights' } });
    expect(container.volumeMounts![0]).toEqual({ name: 'models', mountPath: '/models', subPath: 'llama/3.1-8b' });
    expect(init).toBeUndefined();
    expect(children.pvc).toBeUndefined();
  });

  it('oci:// mounts an image volume read-only, with its pull policy', () => {
    const uri = 'oci://registry.example.com/models/llama-3.1-8b:1.0';
    const { pod, container, init } = render({ engine: 'vllm', source: { uri, pullPolicy: 'IfNotPresent' } });
    expect(pod.volumes![0]).toEqual({ name: 'models', image: { reference: 'registry.example.com/models/llama-3.1-8b:1.0', pullPolicy: 'IfNotPresent' } });
    expect(container.volumeMounts![0]).toEqual({ name: 'models', mountPath: '/models', readOnly: true });
    expect(init).toBeUndefined();
  });

  it.each([
    ['vllm', ['hf', 'download', 'meta-llama/Llama-3.1-8B-Instruct'], ['--local-dir', '/models', '--revision', 'main']],
    ['sglang', ['hf', 'download', 'meta-llama/Llama-3.1-8B-Instruct'], ['--local-dir', '/models', '--revision', 'main']],
    ['trtllm', ['hf', 'download', 'meta-llama/Llama-3.1-8B-Instruct'], ['--local-dir', '/models', '--revision', 'main']],
    ['nim', ['hf', 'download', 'meta-llama/Llama-3.1-8B-Instruct'], ['--local-dir', '/models', '--revision', 'main']],
    ['tgi', ['text-generation-server', 'download-weights', 'meta-llama/Llama-3.1-8B-Instruct'], ['--revision', 'main']],
  ] as const)('hf:// for %s downloads into /models in an init container, with the named Secret as token', (engine, command, args) => {
    const { pod, container, init } = render({
      engine,
      source: { uri: 'hf://meta-llama/Llama-3.1-8B-Instruct@main', tokenSecretRef: token },
      storage: { volumeClaim: { size: '100Gi' } },
    });
    expect(init).toHaveLength(1);
    const download = init![0]!;
    expect(download).toMatchObject({ name: 'model-download', image: container.image, command, args });
    expect(download.env).toContainEqual(tokenEnv);
    // The engine itself never sees the token.
    expect(container.env).not.toContainEqual(tokenEnv);
    expect(download.volumeMounts).toContainEqual({ name: 'models', mountPath: '/models' });
    expect(download.securityContext).toEqual(container.securityContext);
    // Into whatever spec.storage provides: here the operator's claim.
    expect(pod.volumes![0]).toEqual({ name: 'models', persistentVolumeClaim: { claimName: 'gpt-4o-agent-models' } });
  });

  it('hf:// for TGI serves the downloaded repository from the hub cache on /models, offline', () => {
    const { container } = render({ engine: 'tgi', source: { uri: 'hf://meta-llama/Llama-3.1-8B-Instruct@main' } });
    expect(container.args!.slice(0, 4)).toEqual(['--model-id', 'meta-llama/Llama-3.1-8B-Instruct', '--revision', 'main']);
    expect(container.env).toEqual(expect.arrayContaining([{ name: 'HUGGINGFACE_HUB_CACHE', value: '/models' }, { name: 'HF_HUB_OFFLINE', value: '1' }]));
  });

  it('hf:// for NIM points NIM_MODEL_NAME at the download and moves its cache to HOME', () => {
    const { container } = render({ engine: 'nim', source: { uri: 'hf://meta-llama/Llama-3.1-8B-Instruct' } });
    expect(container.env).toEqual(
      expect.arrayContaining([{ name: 'NIM_MODEL_NAME', value: '/models' }, { name: 'NIM_CACHE_PATH', value: '/home/aimodel/.cache/nim' }]),
    );
  });

  it('hf:// for llama.cpp downloads at start with -hf into /models, so the engine gets the token', () => {
    const { container, init } = render({ engine: 'llamacpp', source: { uri: 'hf://bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M', tokenSecretRef: token } });
    expect(init).toBeUndefined();
    expect(container.args!.slice(0, 2)).toEqual(['-hf', 'bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M']);
    expect(container.args).not.toContain('--model');
    expect(container.env).toEqual(expect.arrayContaining([{ name: 'LLAMA_CACHE', value: '/models' }, tokenEnv]));
  });

  it.each([
    ['no source: pulls spec.model from the Ollama library', {}, 'llama3.2:1b'],
    ['hf://: pulls hf.co/<repository>[:quantization]', { source: { uri: 'hf://bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M' } }, 'hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M'],
  ] as const)('Ollama, %s, in an init container that names it spec.model', (_, spec, reference) => {
    const { init, container } = render({ engine: 'ollama', model: 'llama3.2:1b', ...spec });
    const pull = init![0]!;
    expect(pull.command?.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(pull.command![2]).toContain('pull "$PULL_REFERENCE"');
    expect(pull.command![2]).toContain('cp "$PULL_REFERENCE" "$MODEL"');
    // References reach the shell as variables only.
    expect(pull.command![2]).not.toContain(reference);
    expect(pull.env).toEqual(
      expect.arrayContaining([
        { name: 'MODEL', value: 'llama3.2:1b' },
        { name: 'PULL_REFERENCE', value: reference },
        { name: 'OLLAMA_MODELS', value: '/models' },
        { name: 'OLLAMA_HOST', value: '127.0.0.1:11434' },
      ]),
    );
    expect(container.env).toContainEqual({ name: 'OLLAMA_HOST', value: '0.0.0.0:8000' });
  });

  it('Ollama with a claim or an artifact serves the model store as it is', () => {
    expect(render({ engine: 'ollama', source: { uri: 'pvc://ollama-store' } }).init).toBeUndefined();
    expect(render({ engine: 'ollama', source: { uri: 'oci://registry.example.com/models/ollama-store:1' } }).init).toBeUndefined();
  });

  it('gives the init container the user\'s env and the model\'s CPU and memory, but no GPU', () => {
    const { init } = render({
      engine: 'vllm',
      source: { uri: 'hf://gpt2' },
      env: [{ name: 'HF_ENDPOINT', value: 'http://hub-mirror.internal' }],
      resources: { requests: { cpu: '2', memory: '8Gi', 'nvidia.com/gpu': 1 }, limits: { memory: '16Gi' } },
    });
    expect(init![0]!.env).toContainEqual({ name: 'HF_ENDPOINT', value: 'http://hub-mirror.internal' });
    expect(init![0]!.resources).toEqual({ requests: { cpu: '2', memory: '8Gi' }, limits: { memory: '16Gi' } });
  });
});

describe('what the reconciler reads about the weights', () => {
  it('names the user\'s claim from a pvc:// source or spec.storage.existingClaim, and no other', () => {
    expect(userClaimName(aimodel({ source: { uri: 'pvc://weights/llama' } }).spec)).toBe('weights');
    expect(userClaimName(aimodel({ storage: { existingClaim: { claimName: 'mine' } } }).spec)).toBe('mine');
    expect(userClaimName(aimodel({ engine: 'vllm', source: { uri: 'hf://gpt2' }, storage: { existingClaim: { claimName: 'cache' } } }).spec)).toBe('cache');
    expect(userClaimName(aimodel({ source: { uri: 'oci://registry.example.com/models/llama:1' } }).spec)).toBeUndefined();
    expect(userClaimName(aimodel({ storage: { volumeClaim: { size: '10Gi' } } }).spec)).toBeUndefined();
  });

  it('gives a rollout an hour more before its progress deadline while an init container downloads', () => {
    expect(progressDeadlineSeconds(aimodel({ engine: 'vllm' }).spec)).toBe(3900);
    expect(progressDeadlineSeconds(aimodel({ engine: 'vllm', source: { uri: 'hf://gpt2' } }).spec)).toBe(7500);
    // llama.cpp downloads inside its startup budget.
    expect(progressDeadlineSeconds(aimodel({ engine: 'llamacpp', source: { uri: 'hf://org/gguf:Q4_K_M' } }).spec)).toBe(3900);
  });
});

describe('who the pods run as', () => {
  it('takes the model\'s ids over the operator\'s', () => {
    expect(render({ securityContext: { runAsUser: 2000, fsGroup: 3000 } }).pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 2000,
      runAsGroup: 1000,
      fsGroup: 3000,
      fsGroupChangePolicy: 'OnRootMismatch',
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('sets no ids at all when the platform assigns them, as OpenShift does', () => {
    expect(render({ securityContext: { platformAssignedIds: true } }).pod.securityContext).toEqual({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });
});

describe('pull secrets and ServiceAccount', () => {
  it('passes pull secrets by name', () => {
    expect(render({ imagePullSecrets: [{ name: 'ngc' }, { name: 'mirror' }] }).pod.imagePullSecrets).toEqual([{ name: 'ngc' }, { name: 'mirror' }]);
  });

  it('mounts a token only for an account the user named', () => {
    expect(render({}).pod).toMatchObject({ automountServiceAccountToken: false });
    expect(render({}).pod).not.toHaveProperty('serviceAccountName');
    expect(render({ serviceAccountName: 'weights-reader' }).pod).toMatchObject({ serviceAccountName: 'weights-reader', automountServiceAccountToken: true });
  });
});

describe('/dev/shm', () => {
  it.each([
    ['1 GPU', { requests: { 'nvidia.com/gpu': 1 } }, undefined, '2Gi'],
    ['8 GPUs: capped', { limits: { 'nvidia.com/gpu': 8 } }, undefined, '16Gi'],
    ['sized by the user', { requests: { 'nvidia.com/gpu': 1 } }, '12Gi', '12Gi'],
    ['a CPU model that asks for it', undefined, '1Gi', '1Gi'],
  ] as const)('%s', (_, resources, sharedMemorySize, size) => {
    const { pod } = render({ ...(resources === undefined ? {} : { resources }), ...(sharedMemorySize === undefined ? {} : { sharedMemorySize }) });
    expect(pod.volumes).toContainEqual({ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: size } });
  });

  it('is off for CPU models and when the user says 0', () => {
    expect(render({}).pod.volumes!.map((volume) => volume.name)).not.toContain('dshm');
    expect(render({ resources: { requests: { 'nvidia.com/gpu': 1 } }, sharedMemorySize: 0 }).pod.volumes!.map((volume) => volume.name)).not.toContain('dshm');
  });
});
