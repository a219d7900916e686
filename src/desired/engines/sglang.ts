// SGLang: binds 127.0.0.1 and keeps metrics off unless told. /health_generate runs a real
// generation, so readiness means the model answers; liveness stays on the cheap /health.
import { engineProbes, type EnginePreset, hfCliDownload, MODEL_MOUNT_PATH, STARTUP_60_MINUTES, tensorParallel } from './types.ts';

export const sglang: EnginePreset = {
  engine: 'sglang',
  image: 'lmsysorg/sglang:v0.5.6',
  serve: (context) => ({
    command: ['python3', '-m', 'sglang.launch_server'],
    args: [
      '--model-path',
      MODEL_MOUNT_PATH,
      '--served-model-name',
      context.model,
      '--host',
      '0.0.0.0',
      '--port',
      String(context.port),
      '--enable-metrics',
      ...tensorParallel('--tp', context),
    ],
    env: [],
  }),
  download: hfCliDownload,
  probes: engineProbes({ startup: '/health', readiness: '/health_generate', liveness: '/health' }, STARTUP_60_MINUTES),
  metrics: { path: '/metrics' },
  gauges: { queue: 'sglang:num_queue_reqs', running: 'sglang:num_running_reqs', kvCacheUsage: 'sglang:token_usage' },
};
