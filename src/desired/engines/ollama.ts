// Ollama: listens where OLLAMA_HOST says and keeps its models in OLLAMA_MODELS. `ollama pull` is a
// client of a running server, so the init container starts one on loopback, pulls, names the
// result spec.model (`ollama cp`) so clients use the same id as with every other engine, and stops
// it. Ollama exports no metrics, so it has no gauges and no engine-signal autoscaling.
import { engineProbes, type EnginePreset, env, hfSource, MODEL_MOUNT_PATH, STARTUP_30_MINUTES } from './types.ts';

const OLLAMA = '/bin/ollama';

// References travel in the environment, never spliced into the script, so no model name can
// change what the shell runs.
const PULL_SCRIPT = [
  `${OLLAMA} serve & server=$!`,
  `until ${OLLAMA} list >/dev/null 2>&1; do kill -0 "$server" || exit 1; sleep 1; done`,
  `${OLLAMA} pull "$PULL_REFERENCE" && { [ "$PULL_REFERENCE" = "$MODEL" ] || ${OLLAMA} cp "$PULL_REFERENCE" "$MODEL"; }`,
  'status=$?',
  'kill "$server"',
  'exit "$status"',
].join('\n');

export const ollama: EnginePreset = {
  engine: 'ollama',
  image: 'ollama/ollama:0.12.6',
  serve: (context) => ({
    command: [OLLAMA],
    args: ['serve'],
    env: [
      env('OLLAMA_HOST', `0.0.0.0:${context.port}`),
      env('OLLAMA_MODELS', MODEL_MOUNT_PATH),
      // Keep the model loaded: an unloaded model makes the next request wait for a load.
      env('OLLAMA_KEEP_ALIVE', '-1'),
    ],
  }),
  download: (context) => {
    // A claim or an OCI artifact already holds the model store.
    if (context.source !== undefined && context.source.scheme !== 'hf') return undefined;
    const source = hfSource(context);
    const reference =
      source === undefined
        ? context.model
        : `hf.co/${source.repository}${source.quantization === undefined ? '' : `:${source.quantization}`}`;
    return {
      command: ['/bin/sh', '-c', PULL_SCRIPT],
      args: [],
      env: [env('OLLAMA_HOST', '127.0.0.1:11434'), env('OLLAMA_MODELS', MODEL_MOUNT_PATH), env('PULL_REFERENCE', reference)],
    };
  },
  // GET / answers 200 once the server runs; the model was pulled before it started.
  probes: engineProbes({ startup: '/', readiness: '/', liveness: '/' }, STARTUP_30_MINUTES),
  gauges: {},
};
