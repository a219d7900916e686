// llama.cpp server: binds 127.0.0.1 and its default port differs between builds, so both are
// always passed; metrics are off unless --metrics. It serves one GGUF file: /models/model.gguf
// from a claim or an OCI artifact, or what its own -hf downloader fetches into /models (LLAMA_CACHE)
// at start, which is why it has no init container.
import { engineProbes, type EnginePreset, env, hfSource, MODEL_MOUNT_PATH, STARTUP_60_MINUTES } from './types.ts';

/** The file llama.cpp serves when the weights are not downloaded by -hf; spec.args may give another --model. */
export const LLAMACPP_MODEL_FILE = `${MODEL_MOUNT_PATH}/model.gguf`;

export const llamacpp: EnginePreset = {
  engine: 'llamacpp',
  image: 'ghcr.io/ggml-org/llama.cpp:server-b6795',
  gpuImage: 'ghcr.io/ggml-org/llama.cpp:server-cuda-b6795',
  serve: (context) => {
    const source = hfSource(context);
    const weights =
      source === undefined
        ? ['--model', LLAMACPP_MODEL_FILE]
        : ['-hf', source.quantization === undefined ? source.repository : `${source.repository}:${source.quantization}`];
    return {
      command: ['/app/llama-server'],
      args: [
        ...weights,
        '--alias',
        context.model,
        '--host',
        '0.0.0.0',
        '--port',
        String(context.port),
        '--metrics',
        // Without it the CUDA build keeps every layer on the CPU.
        ...(context.gpus > 0 ? ['--n-gpu-layers', '999'] : []),
      ],
      env: source === undefined ? [] : [env('LLAMA_CACHE', MODEL_MOUNT_PATH)],
    };
  },
  // /health answers 503 while the model loads and 200 once it serves.
  probes: engineProbes({ startup: '/health', readiness: '/health', liveness: '/health' }, STARTUP_60_MINUTES),
  metrics: { path: '/metrics' },
  gauges: { queue: 'llamacpp:requests_deferred', running: 'llamacpp:requests_processing' },
};
