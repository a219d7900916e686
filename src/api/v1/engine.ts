// The inference engines an AIModel can run, as API data: names, what `kubectl explain` says about
// each, and the few capabilities the validation rules need. How each engine is run (image, command
// line, probes, metrics) is desired state, in src/desired/engines/.
import { z } from 'zod';

/**
 * The seed's generic contract first: it is the default, so AIModels written before engines existed
 * keep their meaning.
 */
export const ENGINES = ['openai-compatible', 'vllm', 'sglang', 'llamacpp', 'trtllm', 'nim', 'tgi', 'ollama'] as const;
export type Engine = (typeof ENGINES)[number];
export const DEFAULT_ENGINE: Engine = 'openai-compatible';

/** One line per engine for `kubectl explain aimodel.spec.engine`. */
export const ENGINE_DESCRIPTIONS: Record<Engine, string> = {
  'openai-compatible':
    'any image that serves the OpenAI API on spec.port, reads the model name from the MODEL environment variable and the weights from /models, and answers GET /health (the default; no arguments are added).',
  vllm: 'vLLM (vllm serve /models --served-model-name <model> --host 0.0.0.0 --port <port>; metrics on /metrics).',
  sglang:
    'SGLang (python3 -m sglang.launch_server --model-path /models --host 0.0.0.0 --port <port> --enable-metrics; readiness on /health_generate).',
  llamacpp:
    'llama.cpp server (llama-server --model /models/model.gguf, or -hf <repo> for an hf:// source, --alias <model> --host 0.0.0.0 --port <port> --metrics). No KV-cache gauge.',
  trtllm: 'TensorRT-LLM trtllm-serve (trtllm-serve /models --host 0.0.0.0 --port <port>; metrics on /prometheus/metrics).',
  nim: 'NVIDIA NIM for LLMs (NIM_SERVER_PORT, NIM_SERVED_MODEL_NAME; probes on /v1/health/*, metrics on /v1/metrics). The image is the model: set spec.image to the NIM you want.',
  tgi: 'Hugging Face Text Generation Inference (text-generation-launcher --model-id /models --hostname 0.0.0.0 --port <port>; never the image\'s port 80).',
  ollama:
    'Ollama (ollama serve with OLLAMA_HOST=0.0.0.0:<port>, models in /models; an init container pulls spec.model, or the hf:// source, first). No metrics, so no engine-signal autoscaling.',
};

export const EngineSchema = z
  .enum(ENGINES)
  .default(DEFAULT_ENGINE)
  .describe(
    [
      'The inference engine, which decides the default image, command line, environment, probes and metrics of the model container (spec.image, spec.args, spec.env and spec.probes still apply on top). Defaults to openai-compatible. Pods carry the label ai.openai.com/engine=<engine>.',
      ...ENGINES.map((engine) => `${engine}: ${ENGINE_DESCRIPTIONS[engine]}`),
    ].join('\n'),
  );

/** Engines whose hf:// download can select one quantisation of a GGUF repository (`hf://org/name:Q4_K_M`). */
export const ENGINES_WITH_HF_QUANT: readonly Engine[] = ['llamacpp', 'ollama'];
/** Engines whose downloader cannot pin a revision. */
export const ENGINES_WITHOUT_HF_REVISION: readonly Engine[] = ['llamacpp', 'ollama'];
/** Engines with no downloader of their own: an hf:// source would have nothing to fetch it. */
export const ENGINES_WITHOUT_HF_DOWNLOAD: readonly Engine[] = ['openai-compatible'];
/** Engines whose downloader takes no Hugging Face token (Ollama authenticates to hf.co with its own key). */
export const ENGINES_WITHOUT_HF_TOKEN: readonly Engine[] = ['ollama'];

/**
 * Per-replica load signals an AIModel can autoscale on (spec.autoscaling.target), besides CPU.
 * They are the three gauges the Gateway API Inference Extension's model-server protocol asks an
 * engine for: requests waiting in its queue, requests running, and KV-cache use.
 */
export const ENGINE_SIGNALS = ['queueLength', 'runningRequests', 'kvCacheUtilizationPercent'] as const;
export type EngineSignal = (typeof ENGINE_SIGNALS)[number];

/** What each signal is, in the words `kubectl explain` and the validation messages use. */
export const ENGINE_SIGNAL_GAUGE: Record<EngineSignal, string> = {
  queueLength: 'queue-length',
  runningRequests: 'running-requests',
  kvCacheUtilizationPercent: 'KV-cache',
};

/**
 * The signals each engine exports a gauge for, as API data for the validation rules; the presets'
 * `gauges` name those gauges (src/desired/engines/, and a unit test keeps the two in agreement).
 */
export const ENGINE_EXPORTED_SIGNALS: Record<Engine, readonly EngineSignal[]> = {
  'openai-compatible': [],
  vllm: ENGINE_SIGNALS,
  sglang: ENGINE_SIGNALS,
  llamacpp: ['queueLength', 'runningRequests'],
  trtllm: ENGINE_SIGNALS,
  nim: ENGINE_SIGNALS,
  tgi: ['queueLength', 'runningRequests'],
  ollama: [],
};

/** The engines exporting a signal, in ENGINES order. */
export function enginesExporting(signal: EngineSignal): Engine[] {
  return ENGINES.filter((engine) => ENGINE_EXPORTED_SIGNALS[engine].includes(signal));
}
