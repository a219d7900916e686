// vLLM: listens on all interfaces by default, metrics always on at /metrics. /health answers once
// the engine loop runs, which can be before the model is warm; the startup budget covers loading.
import {
  engineProbes,
  type EnginePreset,
  env,
  hfCliDownload,
  HF_HOME_DIR,
  MODEL_MOUNT_PATH,
  STARTUP_60_MINUTES,
  tensorParallel,
} from './types.ts';

export const vllm: EnginePreset = {
  engine: 'vllm',
  image: 'vllm/vllm-openai:v0.11.0',
  serve: (context) => ({
    command: ['vllm', 'serve'],
    args: [
      MODEL_MOUNT_PATH,
      '--served-model-name',
      context.model,
      '--host',
      '0.0.0.0',
      '--port',
      String(context.port),
      ...tensorParallel('--tensor-parallel-size', context),
    ],
    // The weights are local; the cache only takes what vLLM fetches besides them.
    env: [env('HF_HUB_CACHE', `${HF_HOME_DIR}/hub`)],
  }),
  download: hfCliDownload,
  probes: engineProbes({ startup: '/health', readiness: '/health', liveness: '/health' }, STARTUP_60_MINUTES),
  metrics: { path: '/metrics' },
  gauges: { queue: 'vllm:num_requests_waiting', running: 'vllm:num_requests_running', kvCacheUsage: 'vllm:kv_cache_usage_perc' },
};
