// TensorRT-LLM's trtllm-serve: listens on localhost unless --host is given; Prometheus text lives
// under /prometheus/metrics (its /metrics is JSON).
import { engineProbes, type EnginePreset, hfCliDownload, MODEL_MOUNT_PATH, STARTUP_60_MINUTES, tensorParallel } from './types.ts';

export const trtllm: EnginePreset = {
  engine: 'trtllm',
  image: 'nvcr.io/nvidia/tensorrt-llm/release:1.0.0',
  serve: (context) => ({
    command: ['trtllm-serve'],
    args: [
      MODEL_MOUNT_PATH,
      '--served_model_name',
      context.model,
      '--host',
      '0.0.0.0',
      '--port',
      String(context.port),
      ...tensorParallel('--tp_size', context),
    ],
    env: [],
  }),
  download: hfCliDownload,
  probes: engineProbes({ startup: '/health', readiness: '/health', liveness: '/health' }, STARTUP_60_MINUTES),
  metrics: { path: '/prometheus/metrics' },
  gauges: { queue: 'trtllm_num_requests_waiting', running: 'trtllm_num_requests_running', kvCacheUsage: 'trtllm_kv_cache_utilization' },
};
