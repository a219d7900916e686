// The engine presets, one file each, by spec.engine.
import type { Engine } from '../../api/v1/engine.ts';
import { llamacpp } from './llamacpp.ts';
import { nim } from './nim.ts';
import { ollama } from './ollama.ts';
import { openaiCompatible } from './openai-compatible.ts';
import { sglang } from './sglang.ts';
import { tgi } from './tgi.ts';
import { trtllm } from './trtllm.ts';
import type { EnginePreset } from './types.ts';
import { vllm } from './vllm.ts';

export const ENGINE_PRESETS: Readonly<Record<Engine, EnginePreset>> = {
  'openai-compatible': openaiCompatible,
  vllm,
  sglang,
  llamacpp,
  trtllm,
  nim,
  tgi,
  ollama,
};

export function enginePreset(engine: Engine): EnginePreset {
  return ENGINE_PRESETS[engine];
}

export type { EngineGauges, EnginePreset, EngineProbes, ServeContext } from './types.ts';
