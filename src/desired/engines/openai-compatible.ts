// The seed's generic contract: an image that serves the OpenAI API on the container port, reads
// the model name from MODEL (set for every engine by ../deployment.ts) and the weights from
// /models, and answers GET /health. Nothing is added to its command line.
import { engineProbes, type EnginePreset, STARTUP_30_MINUTES } from './types.ts';

export const openaiCompatible: EnginePreset = {
  engine: 'openai-compatible',
  // The operator's --default-image replaces it, as before engines existed.
  image: 'openai/chatgpt-local:latest',
  serve: () => ({ args: [], env: [] }),
  probes: engineProbes({ startup: '/health', readiness: '/health', liveness: '/health' }, STARTUP_30_MINUTES),
  // The contract says nothing about metrics; the pods get no scrape target.
  gauges: {},
};
