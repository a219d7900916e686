// Text Generation Inference: the image sets PORT=80, a privileged port a non-root pod cannot bind,
// so both --port and PORT are given. An hf:// source is fetched by TGI's own
// `text-generation-server download-weights` into a hub cache on the weights volume, and the
// launcher then serves the repository id from that cache, offline.
import { engineProbes, type EnginePreset, env, hfSource, HF_HOME_DIR, MODEL_MOUNT_PATH, STARTUP_60_MINUTES, tensorParallel } from './types.ts';

export const tgi: EnginePreset = {
  engine: 'tgi',
  image: 'ghcr.io/huggingface/text-generation-inference:3.3.4',
  serve: (context) => {
    const source = hfSource(context);
    const model =
      source === undefined
        ? ['--model-id', MODEL_MOUNT_PATH]
        : ['--model-id', source.repository, ...(source.revision === undefined ? [] : ['--revision', source.revision])];
    return {
      command: ['text-generation-launcher'],
      args: [
        ...model,
        '--served-model-name',
        context.model,
        '--hostname',
        '0.0.0.0',
        '--port',
        String(context.port),
        ...tensorParallel('--num-shard', context),
      ],
      env: [
        env('PORT', String(context.port)),
        ...(source === undefined
          ? [env('HUGGINGFACE_HUB_CACHE', `${HF_HOME_DIR}/hub`)]
          : [env('HUGGINGFACE_HUB_CACHE', MODEL_MOUNT_PATH), env('HF_HUB_OFFLINE', '1')]),
      ],
    };
  },
  download: (context) => {
    const source = hfSource(context);
    if (source === undefined) return undefined;
    return {
      command: ['text-generation-server', 'download-weights', source.repository],
      args: source.revision === undefined ? [] : ['--revision', source.revision],
      env: [env('HUGGINGFACE_HUB_CACHE', MODEL_MOUNT_PATH)],
    };
  },
  probes: engineProbes({ startup: '/health', readiness: '/health', liveness: '/health' }, STARTUP_60_MINUTES),
  metrics: { path: '/metrics' },
  gauges: { queue: 'tgi_queue_size', running: 'tgi_batch_current_size' },
};
