import { describe, expect, it } from 'vitest';
import { parseSourceUri } from './source.ts';

describe('parseSourceUri', () => {
  it.each([
    ['pvc://weights', { scheme: 'pvc', claimName: 'weights' }],
    ['pvc://weights.team-a/llama/3.1-8b', { scheme: 'pvc', claimName: 'weights.team-a', subPath: 'llama/3.1-8b' }],
    ['pvc://weights/.cache/x', { scheme: 'pvc', claimName: 'weights', subPath: '.cache/x' }],
    ['hf://gpt2', { scheme: 'hf', repository: 'gpt2' }],
    ['hf://meta-llama/Llama-3.1-8B-Instruct', { scheme: 'hf', repository: 'meta-llama/Llama-3.1-8B-Instruct' }],
    ['hf://Qwen/Qwen2.5-7B-Instruct@refs/pr/1', { scheme: 'hf', repository: 'Qwen/Qwen2.5-7B-Instruct', revision: 'refs/pr/1' }],
    ['hf://bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M', { scheme: 'hf', repository: 'bartowski/Llama-3.2-1B-Instruct-GGUF', quantization: 'Q4_K_M' }],
    ['oci://registry.example.com:5000/models/llama:1.0', { scheme: 'oci', reference: 'registry.example.com:5000/models/llama:1.0' }],
    [`oci://ghcr.io/org/llama@sha256:${'a'.repeat(64)}`, { scheme: 'oci', reference: `ghcr.io/org/llama@sha256:${'a'.repeat(64)}` }],
  ])('%s', (uri, expected) => {
    expect(parseSourceUri(uri)).toEqual(expected);
  });

  it.each([
    's3://bucket/llama',
    'pvc://',
    'pvc://Weights',
    'pvc://weights/',
    'pvc://weights/../other',
    'pvc://weights/a/./b',
    'pvc://weights//a',
    'hf://',
    'hf://org/name/extra',
    'hf://meta llama/x',
    'hf://org/name@',
    'oci://registry.example.com',
    'oci://Registry.example.com/models/llama',
    'oci://registry.example.com/models/llama:',
    'oci://registry.example.com/models/llama@sha256:short',
    'https://huggingface.co/gpt2',
  ])('refuses %s', (uri) => {
    expect(parseSourceUri(uri)).toBeUndefined();
  });
});
