// NVIDIA NIM for LLMs: the image is the model and its entrypoint starts the server, so the preset
// only sets environment. Without a source, NIM downloads its optimised profile from NGC into the
// weights volume (NIM_CACHE_PATH), so a claim keeps it across restarts; with a source, /models is
// the model (NIM_MODEL_NAME) and the cache moves to HOME.
import { CACHE_DIR, engineProbes, type EnginePreset, env, hfCliDownload, MODEL_MOUNT_PATH, STARTUP_60_MINUTES } from './types.ts';

export const nim: EnginePreset = {
  engine: 'nim',
  image: 'nvcr.io/nim/meta/llama-3.1-8b-instruct:1.12.0',
  serve: (context) => ({
    args: [],
    env: [
      env('NIM_SERVER_PORT', String(context.port)),
      env('NIM_SERVED_MODEL_NAME', context.model),
      ...(context.source === undefined
        ? [env('NIM_CACHE_PATH', MODEL_MOUNT_PATH)]
        : [env('NIM_MODEL_NAME', MODEL_MOUNT_PATH), env('NIM_CACHE_PATH', `${CACHE_DIR}/nim`)]),
    ],
  }),
  download: hfCliDownload,
  probes: engineProbes({ startup: '/v1/health/ready', readiness: '/v1/health/ready', liveness: '/v1/health/live' }, STARTUP_60_MINUTES),
  metrics: { path: '/v1/metrics' },
  gauges: { queue: 'num_requests_waiting', running: 'num_requests_running', kvCacheUsage: 'gpu_cache_usage_perc' },
};
