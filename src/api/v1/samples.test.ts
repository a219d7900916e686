import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { desiredChildren } from '../../desired/children.ts';
import { DEFAULT_OPERATOR_DEFAULTS } from '../../desired/defaults.ts';
import { type AIModel, parseAIModel } from './aimodel.ts';
import { ENGINES } from './engine.ts';

const samplesDir = join(import.meta.dirname, '..', '..', '..', 'config', 'samples');
const files = (await readdir(samplesDir)).filter((file) => file.endsWith('.yaml')).sort();

async function sample(file: string): Promise<AIModel> {
  const manifest = load(await readFile(join(samplesDir, file), 'utf8')) as { metadata: object };
  // Namespace and uid are what the API server adds on create.
  const result = parseAIModel({ ...manifest, metadata: { ...manifest.metadata, namespace: 'default', uid: 'sample-uid' } });
  if (!result.ok) throw new Error(`${file}: ${JSON.stringify(result.problems)}`);
  return result.model;
}

describe('config/samples', () => {
  it('has the documented samples, one per engine among them', () => {
    expect(files).toEqual([
      'aimodel-autoscaled-custom-metrics.yaml',
      'aimodel-gpu-pvc.yaml',
      'aimodel-llamacpp-scale-to-zero.yaml',
      'aimodel-llamacpp.yaml',
      'aimodel-nim.yaml',
      'aimodel-ollama.yaml',
      'aimodel-seed.yaml',
      'aimodel-sglang.yaml',
      'aimodel-suspended.yaml',
      'aimodel-tgi.yaml',
      'aimodel-trtllm.yaml',
      'aimodel-vllm.yaml',
    ]);
  });

  it.each(ENGINES.filter((engine) => engine !== 'openai-compatible'))('the %s sample runs that engine, on a GPU unless it runs on CPU', async (engine) => {
    const model = await sample(`aimodel-${engine}.yaml`);
    expect(model.spec.engine).toBe(engine);
    const children = desiredChildren(model, DEFAULT_OPERATOR_DEFAULTS);
    const gpus = children.deployment.spec.template.spec!.containers[0]!.resources?.limits?.['nvidia.com/gpu'];
    expect(gpus !== undefined).toBe(!['llamacpp', 'ollama'].includes(engine));
    expect(children.deployment.spec.template.metadata?.labels?.['ai.openai.com/engine']).toBe(engine);
  });

  it.each(files)('%s parses and yields children', async (file) => {
    const model = await sample(file);
    expect(() => desiredChildren(model, DEFAULT_OPERATOR_DEFAULTS)).not.toThrow();
  });

  it('the scale-to-zero sample goes through KEDA and wakes on its gateway\'s queue for its model', async () => {
    const model = await sample('aimodel-llamacpp-scale-to-zero.yaml');
    const children = desiredChildren(model, { ...DEFAULT_OPERATOR_DEFAULTS, scaledObjects: true, prometheusAddress: 'http://prometheus:9090' });
    expect(children.scaledObject?.spec.minReplicaCount).toBe(0);
    expect(children.scaledObject?.spec.triggers[1]?.metadata.query).toBe(`clamp_max(sum(inference_extension_flow_control_queue_size{target_model_name="${model.spec.model}"}), 1)`);
  });

  it('the seed sample is exactly the seed', async () => {
    const model = await sample('aimodel-seed.yaml');
    expect(model.metadata.name).toBe('gpt-4o-agent');
    expect(model.spec).toMatchObject({ model: 'gpt-4o-agent', replicas: 5, autoscaling: { minReplicas: 2, maxReplicas: 20 } });
    expect(Object.keys(desiredChildren(model, DEFAULT_OPERATOR_DEFAULTS)).sort()).toEqual(['deployment', 'hpa', 'pdb', 'service']);
  });

  it('the GPU sample gets a claim for its weights and a GPU toleration', async () => {
    const children = desiredChildren(await sample('aimodel-gpu-pvc.yaml'), DEFAULT_OPERATOR_DEFAULTS);
    expect(children.pvc?.metadata.name).toBe('llama-3-8b-models');
    expect(children.deployment.spec.template.spec?.tolerations).toContainEqual({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' });
  });

  it('the custom-metrics sample scales on its metrics only', async () => {
    const children = desiredChildren(await sample('aimodel-autoscaled-custom-metrics.yaml'), DEFAULT_OPERATOR_DEFAULTS);
    expect(children.hpa?.spec.metrics?.map((m) => m.type)).toEqual(['Pods', 'External']);
  });

  it('the suspended sample has no pods, HPA or PDB', async () => {
    const children = desiredChildren(await sample('aimodel-suspended.yaml'), DEFAULT_OPERATOR_DEFAULTS);
    expect(children.deployment.spec.replicas).toBe(0);
    expect(Object.keys(children).sort()).toEqual(['deployment', 'service']);
  });
});
