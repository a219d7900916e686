// What an engine preset decides, as data plus two small functions of the model. Presets know
// nothing of Kubernetes objects beyond env vars: the Deployment is assembled in ../deployment.ts.
import type { V1EnvVar } from '@kubernetes/client-node';
import type { Engine } from '../../api/v1/engine.ts';
import type { ProbeSettings } from '../../api/v1/pod.ts';
import { MODEL_MOUNT_PATH } from '../../api/v1/pod.ts';
import type { ModelSource } from '../../api/v1/source.ts';

/** The writable HOME of every model container: an emptyDir, so the root filesystem can stay read-only. */
export const HOME_DIR = '/home/aimodel';
export const CACHE_DIR = `${HOME_DIR}/.cache`;
/** The Hugging Face cache (HF_HOME): tokenizers and configs the engines fetch besides the weights. */
export const HF_HOME_DIR = `${CACHE_DIR}/huggingface`;
export const TMP_DIR = '/tmp';
export const SHM_DIR = '/dev/shm';
export { MODEL_MOUNT_PATH };

/** What a preset reads from the model. */
export type ServeContext = {
  /** spec.model: the id clients send, which the engine must serve the weights as. */
  model: string;
  /** spec.port: where the engine must listen, on all interfaces. */
  port: number;
  /** nvidia.com/gpu of the container; engines shard across them (tensor parallelism) when above 1. */
  gpus: number;
  source?: ModelSource;
};

export type CommandLine = {
  /** Absent: the image's entrypoint. */
  command?: string[];
  args: string[];
  env: V1EnvVar[];
};

export type EngineProbes = { startup: ProbeSettings; readiness: ProbeSettings; liveness: ProbeSettings };

/**
 * The names of the engine's gauges for queue length, running requests and KV-cache use: the three
 * signals the Gateway API Inference Extension's model-server protocol asks for. Absent where the
 * engine exports none.
 */
export type EngineGauges = { queue?: string; running?: string; kvCacheUsage?: string };

export type EnginePreset = {
  engine: Engine;
  /** Pinned default image. */
  image: string;
  /** Pinned default image for models that request nvidia.com/gpu, where the engine ships a separate GPU build. */
  gpuImage?: string;
  /** The command line that serves the weights at /models (or the engine's own download) as spec.model on spec.port of all interfaces. */
  serve(context: ServeContext): CommandLine;
  /**
   * The init container's command line that puts the weights into /models before the engine starts,
   * with the engine image's own downloader; undefined when there is nothing to fetch or the engine
   * fetches at start.
   */
  download?(context: ServeContext): CommandLine | undefined;
  probes: EngineProbes;
  /** The Prometheus text endpoint on the http port, switched on by serve(); absent for engines without metrics. */
  metrics?: { path: string };
  gauges: EngineGauges;
};

/** Probe settings shared by the presets: quick readiness and liveness once the startup probe passed. */
export function engineProbes(paths: { startup: string; readiness: string; liveness: string }, startupFailureThreshold: number): EngineProbes {
  return {
    startup: { path: paths.startup, initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: startupFailureThreshold },
    readiness: { path: paths.readiness, initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    liveness: { path: paths.liveness, initialDelaySeconds: 0, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 3 },
  };
}

/** 10 s x 180: 30 minutes, the seed's budget, for engines whose weights are already local. */
export const STARTUP_30_MINUTES = 180;
/** 10 s x 360: an hour, for engines that compile, shard or fetch parts of the model while starting. */
export const STARTUP_60_MINUTES = 360;

export const env = (name: string, value: string): V1EnvVar => ({ name, value });

/** The hf:// source, when the model has one. */
export function hfSource(context: ServeContext): Extract<ModelSource, { scheme: 'hf' }> | undefined {
  return context.source?.scheme === 'hf' ? context.source : undefined;
}

/**
 * `hf download` from huggingface_hub, which the Python engine images carry: it fetches the
 * repository into /models and skips files already there, so a claim is not fetched twice.
 */
export function hfCliDownload(context: ServeContext): CommandLine | undefined {
  const source = hfSource(context);
  if (source === undefined) return undefined;
  return {
    command: ['hf', 'download', source.repository],
    args: ['--local-dir', MODEL_MOUNT_PATH, ...(source.revision === undefined ? [] : ['--revision', source.revision])],
    env: [],
  };
}

/** Tensor parallelism flag and value when the model spans GPUs. */
export function tensorParallel(flag: string, context: ServeContext): string[] {
  return context.gpus > 1 ? [flag, String(context.gpus)] : [];
}
