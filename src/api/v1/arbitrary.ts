// fast-check arbitraries of valid AIModels, shared by unit property tests and by the integration
// tests that dry-run them against a real API server. Every generated object must pass both the
// CRD and parseAIModel; where the two differ (zod checks map keys and requests <= limits, which
// the CRD cannot) the generators stay inside the stricter one.
import fc from 'fast-check';
import {
  type AIModel,
  type AIModelInput,
  API_VERSION,
  KIND,
  MAX_NAME_LENGTH,
  parseAIModel,
  RESERVED_POD_LABELS,
} from './aimodel.ts';
import {
  type Engine,
  ENGINES,
  ENGINES_WITH_HF_QUANT,
  ENGINES_WITHOUT_HF_DOWNLOAD,
  ENGINES_WITHOUT_HF_REVISION,
  ENGINES_WITHOUT_HF_TOKEN,
  ENGINE_EXPORTED_SIGNALS,
  ENGINE_SIGNALS,
  type EngineSignal,
} from './engine.ts';
import { MODEL_CONTAINER_NAME, MODEL_ENV_NAME } from './pod.ts';

type SpecInput = AIModelInput['spec'];

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const chars = (alphabet: string) => fc.constantFrom(...alphabet.split(''));
const word = (alphabet: string, maxLength: number) => fc.string({ unit: chars(alphabet), maxLength });

const noNull = { noNullPrototype: true } as const;
/** A record whose every key is optional. */
function optionalRecord<T extends object>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<Partial<T>> {
  return fc.record(model, { requiredKeys: [], ...noNull }) as fc.Arbitrary<Partial<T>>;
}

/** A DNS-1035 label of at most maxLength characters. */
export function dns1035Label(maxLength: number): fc.Arbitrary<string> {
  const single = chars(LOWER);
  const longer = fc
    .tuple(chars(LOWER), word(`${LOWER}${DIGITS}-`, Math.max(0, maxLength - 2)), chars(`${LOWER}${DIGITS}`))
    .map(([first, middle, last]) => `${first}${middle}${last}`);
  return fc.oneof(single, longer);
}

export const arbitraryModelName = (): fc.Arbitrary<string> =>
  fc.oneof(
    dns1035Label(MAX_NAME_LENGTH),
    // Names at the cap are where length bugs live.
    fc.tuple(chars(LOWER), word(`${LOWER}${DIGITS}`, 0)).map(([first]) => first.padEnd(MAX_NAME_LENGTH, 'x')),
  );

const dns1123Label = (maxLength: number) =>
  fc
    .tuple(chars(`${LOWER}${DIGITS}`), word(`${LOWER}${DIGITS}-`, Math.max(0, maxLength - 2)), chars(`${LOWER}${DIGITS}`))
    .map(([first, middle, last]) => `${first}${middle}${last}`);

const servedModel = fc.oneof(
  fc.constantFrom('gpt-4o-agent', 'meta-llama/Llama-3.1-8B-Instruct', 'llama3:8b', 'Qwen/Qwen2.5-7B@main', 'mistral+lora'),
  fc
    .tuple(chars(`${LOWER}${DIGITS}ABC`), word(`${LOWER}${DIGITS}ABC._:/@+-`, 40))
    .map(([first, rest]) => `${first}${rest}`),
);

const labelNamePart = fc
  .tuple(chars(`${LOWER}${DIGITS}`), word(`${LOWER}${DIGITS}-_.`, 18), chars(`${LOWER}${DIGITS}`))
  .map(([first, middle, last]) => `${first}${middle}${last}`);
const labelKey = fc
  .tuple(fc.option(fc.constantFrom('example.com', 'team.ai.example.org'), { nil: undefined }), labelNamePart)
  .map(([prefix, name]) => (prefix === undefined ? name : `${prefix}/${name}`))
  .filter((key) => !(RESERVED_POD_LABELS as readonly string[]).includes(key));
const labelValueArb = fc.oneof(fc.constant(''), labelNamePart);
const labels = (maxKeys: number) => fc.dictionary(labelKey, labelValueArb, { maxKeys, ...noNull });
const annotations = fc.dictionary(labelKey, fc.string({ maxLength: 64 }), { maxKeys: 4, ...noNull });

const envName = fc
  .tuple(chars(`${LOWER}ABCXYZ_`), word(`${LOWER}ABCXYZ${DIGITS}_`, 12))
  .map(([first, rest]) => `${first}${rest}`)
  .filter((name) => name !== MODEL_ENV_NAME);
const keyRef = optionalRecord({ optional: fc.boolean() }).chain((extra) =>
  fc.record({ name: dns1123Label(20), key: fc.constantFrom('token', 'config.json', 'MAX_TOKENS') }, noNull).map((ref) => ({ ...ref, ...extra })),
);
const envVar = fc.oneof(
  fc.record({ name: envName, value: fc.string({ maxLength: 40 }) }, noNull),
  fc.record({ name: envName }, noNull),
  fc.record({ name: envName, valueFrom: fc.record({ configMapKeyRef: keyRef }, noNull) }, noNull),
  fc.record({ name: envName, valueFrom: fc.record({ secretKeyRef: keyRef }, noNull) }, noNull),
);
const env = fc.uniqueArray(envVar, { selector: (e) => e.name, maxLength: 5 });

/** Requests with limits at or above them; GPUs equal on both sides, or only in requests. */
const resources = fc
  .record(
    {
      cpuMilli: fc.option(fc.integer({ min: 1, max: 64_000 }), { nil: undefined }),
      cpuExtra: fc.integer({ min: 0, max: 8000 }),
      memoryMi: fc.option(fc.integer({ min: 1, max: 512 * 1024 }), { nil: undefined }),
      memoryExtra: fc.integer({ min: 0, max: 4096 }),
      gpus: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
      gpuInLimits: fc.boolean(),
      withLimits: fc.boolean(),
      wholeCpu: fc.boolean(),
    },
    noNull,
  )
  .map(({ cpuMilli, cpuExtra, memoryMi, memoryExtra, gpus, gpuInLimits, withLimits, wholeCpu }) => {
    const requests: Record<string, number | string> = {};
    const limits: Record<string, number | string> = {};
    if (cpuMilli !== undefined) {
      requests.cpu = wholeCpu ? Math.ceil(cpuMilli / 1000) : `${cpuMilli}m`;
      if (withLimits) limits.cpu = wholeCpu ? Math.ceil(cpuMilli / 1000) + Math.ceil(cpuExtra / 1000) : `${cpuMilli + cpuExtra}m`;
    }
    if (memoryMi !== undefined) {
      requests.memory = `${memoryMi}Mi`;
      if (withLimits) limits.memory = `${memoryMi + memoryExtra}Mi`;
    }
    if (gpus !== undefined) {
      requests['nvidia.com/gpu'] = gpus;
      if (gpuInLimits) limits['nvidia.com/gpu'] = String(gpus);
    }
    const result: { requests?: typeof requests; limits?: typeof limits } = {};
    if (Object.keys(requests).length > 0) result.requests = requests;
    if (Object.keys(limits).length > 0) result.limits = limits;
    return result;
  });

const labelSelector = optionalRecord({
  matchLabels: fc.dictionary(labelKey, labelNamePart, { minKeys: 1, maxKeys: 2, ...noNull }),
  matchExpressions: fc.array(
    fc.oneof(
      fc.record({ key: labelKey, operator: fc.constantFrom('In' as const, 'NotIn' as const), values: fc.array(labelNamePart, { minLength: 1, maxLength: 3 }) }, noNull),
      fc.record({ key: labelKey, operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const) }, noNull),
    ),
    { maxLength: 2 },
  ),
}).filter((selector) => Object.keys(selector).length > 0);
const metricIdentifier = fc
  .tuple(fc.constantFrom('vllm:num_requests_waiting', 'queue_messages_ready', 'tokens_per_second'), fc.option(labelSelector, { nil: undefined }))
  .map(([name, selector]) => (selector === undefined ? { name } : { name, selector }));
const positiveQuantity = fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constantFrom('500m', '10', '2k', '1Gi'));
const valueTarget = fc.record({ type: fc.constant('Value' as const), value: positiveQuantity }, noNull);
const averageValueTarget = fc.record({ type: fc.constant('AverageValue' as const), averageValue: positiveQuantity }, noNull);
const utilizationTarget = fc.record(
  { type: fc.constant('Utilization' as const), averageUtilization: fc.integer({ min: 1, max: 200 }) },
  noNull,
);
const resourceMetricName = fc.constantFrom('cpu', 'memory');

const metric = fc.oneof(
  fc.record(
    { type: fc.constant('Resource' as const), resource: fc.record({ name: resourceMetricName, target: fc.oneof(utilizationTarget, averageValueTarget) }, noNull) },
    noNull,
  ),
  fc.record(
    {
      type: fc.constant('ContainerResource' as const),
      containerResource: fc.record(
        { name: resourceMetricName, container: fc.constant(MODEL_CONTAINER_NAME), target: fc.oneof(utilizationTarget, averageValueTarget) },
        noNull,
      ),
    },
    noNull,
  ),
  fc.record({ type: fc.constant('Pods' as const), pods: fc.record({ metric: metricIdentifier, target: averageValueTarget }, noNull) }, noNull),
  fc.record(
    {
      type: fc.constant('Object' as const),
      object: fc.record(
        {
          describedObject: fc.constant({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'main-route' }),
          metric: metricIdentifier,
          target: fc.oneof(valueTarget, averageValueTarget),
        },
        noNull,
      ),
    },
    noNull,
  ),
  fc.record(
    { type: fc.constant('External' as const), external: fc.record({ metric: metricIdentifier, target: fc.oneof(valueTarget, averageValueTarget) }, noNull) },
    noNull,
  ),
);

const scalingRules = optionalRecord({
  stabilizationWindowSeconds: fc.integer({ min: 0, max: 3600 }),
  selectPolicy: fc.constantFrom('Max' as const, 'Min' as const, 'Disabled' as const),
  policies: fc.array(
    fc.record(
      {
        type: fc.constantFrom('Pods' as const, 'Percent' as const),
        value: fc.integer({ min: 1, max: 100 }),
        periodSeconds: fc.integer({ min: 1, max: 1800 }),
      },
      noNull,
    ),
    { minLength: 1, maxLength: 3 },
  ),
}).filter((rules) => Object.keys(rules).length > 0);

/** Replicas and autoscaling together, because the CRD ties replicas to the autoscaling bounds. */
const scaling: fc.Arbitrary<Pick<SpecInput, 'replicas' | 'autoscaling'>> = fc.oneof(
  fc.record({ replicas: fc.integer({ min: 0, max: 20 }) }, { requiredKeys: [], ...noNull }),
  fc
    .record(
      {
        min: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
        span: fc.integer({ min: 0, max: 40 }),
        replicasAt: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
        extra: optionalRecord({
          targetCPUUtilizationPercentage: fc.integer({ min: 1, max: 100 }),
          target: fc.record({ cpuUtilizationPercent: fc.integer({ min: 1, max: 100 }) }, noNull),
          metrics: fc.array(metric, { maxLength: 3 }),
          behavior: optionalRecord({ scaleUp: scalingRules, scaleDown: scalingRules }),
        }),
      },
      noNull,
    )
    .map(({ min, span, replicasAt, extra }) => {
      const floor = min ?? 1;
      const maxReplicas = floor + span;
      // The older CPU field and target are exclusive: keep the one the generator put first.
      const { targetCPUUtilizationPercentage, target, ...others } = extra;
      const cpu = targetCPUUtilizationPercentage !== undefined ? { targetCPUUtilizationPercentage } : target !== undefined ? { target } : {};
      const autoscaling = { ...(min === undefined ? {} : { minReplicas: min }), maxReplicas, ...cpu, ...others };
      if (replicasAt === undefined) return { autoscaling };
      return { autoscaling, replicas: floor + Math.floor(replicasAt * span) };
    }),
);

const toleration = fc.oneof(
  fc.record({ key: fc.constant('nvidia.com/gpu'), operator: fc.constant('Exists' as const), effect: fc.constant('NoSchedule' as const) }, noNull),
  fc.record({ key: labelKey, operator: fc.constant('Equal' as const), value: labelNamePart, effect: fc.constantFrom('NoSchedule' as const, 'PreferNoSchedule' as const) }, noNull),
  fc.record({ key: labelKey, value: labelNamePart }, noNull),
  fc.record({ operator: fc.constant('Exists' as const) }, noNull),
  fc.record(
    { key: labelKey, operator: fc.constant('Exists' as const), effect: fc.constant('NoExecute' as const), tolerationSeconds: fc.integer({ min: 0, max: 3600 }) },
    noNull,
  ),
);

const affinity = fc.constantFrom(
  {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'nvidia.com/gpu.product', operator: 'In', values: ['NVIDIA-A100-SXM4-80GB'] }] }],
      },
    },
  },
  {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'aimodel' } } } },
      ],
    },
  },
);

const storageQuantity = fc.oneof(fc.integer({ min: 1, max: 1 << 30 }), fc.integer({ min: 1, max: 4096 }).map((gi) => `${gi}Gi`));
const storage = fc.oneof(
  fc.record({ emptyDir: optionalRecord({ sizeLimit: storageQuantity, medium: fc.constant('Memory' as const) }) }, noNull),
  fc.record({ existingClaim: fc.record({ claimName: dns1123Label(30) }, noNull) }, noNull),
  fc.record(
    {
      volumeClaim: fc
        .record({ size: storageQuantity }, noNull)
        .chain((claim) =>
          optionalRecord({
            storageClassName: fc.constantFrom('standard', 'fast-ssd', 'gp3'),
            accessModes: fc.uniqueArray(fc.constantFrom('ReadWriteOnce' as const, 'ReadOnlyMany' as const, 'ReadWriteMany' as const), {
              minLength: 1,
              maxLength: 3,
            }),
          }).map((extra) => ({ ...claim, ...extra })),
        ),
    },
    noNull,
  ),
);

const probe = optionalRecord({
  enabled: fc.boolean(),
  path: fc.constantFrom('/health', '/v1/models', '/healthz?full=1'),
  initialDelaySeconds: fc.integer({ min: 0, max: 600 }),
  periodSeconds: fc.integer({ min: 1, max: 60 }),
  timeoutSeconds: fc.integer({ min: 1, max: 30 }),
  failureThreshold: fc.integer({ min: 1, max: 5400 }),
});
const probes = optionalRecord({
  startup: probe,
  readiness: fc.tuple(probe, fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined })).map(([p, successThreshold]) =>
    successThreshold === undefined ? p : { ...p, successThreshold },
  ),
  liveness: probe,
});

const surge = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('0%', '25%', '100%', '150%'));
const unavailable = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('0%', '25%', '100%'));
const isZero = (value: number | string) => value === 0 || value === '0%';
const strategy = fc.oneof(
  fc.constant({ type: 'Recreate' as const }),
  optionalRecord({ type: fc.constant('RollingUpdate' as const) }),
  fc
    .record({ rollingUpdate: optionalRecord({ maxSurge: surge, maxUnavailable: unavailable }) }, noNull)
    .filter(({ rollingUpdate }) => !(isZero(rollingUpdate.maxSurge ?? 1) && isZero(rollingUpdate.maxUnavailable ?? 0))),
);

const service = optionalRecord({
  type: fc.constantFrom('ClusterIP' as const, 'NodePort' as const, 'LoadBalancer' as const),
  port: fc.integer({ min: 1, max: 65535 }),
  annotations,
});

const countOrPercent = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constantFrom('0%', '50%', '100%'));
const podDisruptionBudget = fc.oneof(
  optionalRecord({ enabled: fc.boolean() }),
  fc.record({ maxUnavailable: countOrPercent }, noNull),
  fc.record({ minAvailable: countOrPercent }, noNull),
);

const image = fc.oneof(
  fc.constantFrom('openai/chatgpt-local:latest', 'vllm/vllm-openai:v0.9.2', 'registry.example.com/ml/server@sha256:' + 'a'.repeat(64)),
  fc.tuple(dns1123Label(20), dns1123Label(10)).map(([repo, tag]) => `ghcr.io/example/${repo}:${tag}`),
);

/** ServiceAccounts the integration tests create in their namespace: pod admission needs them to exist. */
export const ARBITRARY_SERVICE_ACCOUNTS = ['model-reader', 'weights-identity'] as const;

const subPath = fc.constantFrom('llama', 'models/llama-3.1-8b', 'a.b_c-d/.hidden');
const hfRepository = fc.constantFrom('meta-llama/Llama-3.1-8B-Instruct', 'gpt2', 'Qwen/Qwen2.5-0.5B-Instruct', 'bartowski/Llama-3.2-1B-Instruct-GGUF');
const secretKeyRef = fc.record({ name: dns1123Label(20), key: fc.constantFrom('token', 'HF_TOKEN') }, noNull);
const pullPolicy = fc.constantFrom('Always' as const, 'IfNotPresent' as const, 'Never' as const);

type EngineAndSource = { engine?: Engine; source?: SpecInput['source']; keepsStorage: boolean };

/** An engine and a source that the rules allow together; pvc:// and oci:// leave spec.storage out. */
const engineAndSource: fc.Arbitrary<EngineAndSource> = fc
  .option(fc.constantFrom(...ENGINES), { nil: undefined })
  .chain((engine): fc.Arbitrary<EngineAndSource> => {
    const effective: Engine = engine ?? 'openai-compatible';
    const withEngine = <T extends object>(value: T) => (engine === undefined ? value : { engine, ...value });
    const pvc = fc
      .tuple(dns1123Label(20), fc.option(subPath, { nil: undefined }))
      .map(([claim, path]) => withEngine({ source: { uri: path === undefined ? `pvc://${claim}` : `pvc://${claim}/${path}` }, keepsStorage: false }));
    const oci = fc
      .tuple(dns1123Label(12), fc.oneof(fc.constant(':1.0'), fc.constant(`@sha256:${'b'.repeat(64)}`)), fc.option(pullPolicy, { nil: undefined }))
      .map(([repository, tag, policy]) =>
        withEngine({
          source: { uri: `oci://registry.example.com:5000/models/${repository}${tag}`, ...(policy === undefined ? {} : { pullPolicy: policy }) },
          keepsStorage: false,
        }),
      );
    const sources: fc.Arbitrary<EngineAndSource>[] = [fc.constant(withEngine({ keepsStorage: true })), pvc, oci];
    if (!ENGINES_WITHOUT_HF_DOWNLOAD.includes(effective)) {
      const quantization = ENGINES_WITH_HF_QUANT.includes(effective) ? fc.option(fc.constantFrom('Q4_K_M', 'q8_0'), { nil: undefined }) : fc.constant(undefined);
      const revision = ENGINES_WITHOUT_HF_REVISION.includes(effective) ? fc.constant(undefined) : fc.option(fc.constantFrom('main', 'refs/pr/1', 'a'.repeat(40)), { nil: undefined });
      const token = ENGINES_WITHOUT_HF_TOKEN.includes(effective) ? fc.constant(undefined) : fc.option(secretKeyRef, { nil: undefined });
      sources.push(
        fc.tuple(hfRepository, quantization, revision, token).map(([repository, quant, rev, tokenRef]) =>
          withEngine({
            source: {
              uri: `hf://${repository}${quant === undefined ? '' : `:${quant}`}${rev === undefined ? '' : `@${rev}`}`,
              ...(tokenRef === undefined ? {} : { tokenSecretRef: tokenRef }),
            },
            keepsStorage: true,
          }),
        ),
      );
    }
    return fc.oneof(...sources);
  });

type ScaleFromZeroInput = { metric: string; matchLabels: { name: string; value: string }[] };
type SignalChoice = { signal: EngineSignal; value: number; toZero: ScaleFromZeroInput | undefined } | undefined;

/** What wakes a model from zero: a Prometheus metric and labels, values with PromQL's special characters too. */
const scaleFromZero: fc.Arbitrary<ScaleFromZeroInput> = fc.record(
  {
    metric: fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,40}$/),
    matchLabels: fc.uniqueArray(
      fc.record({ name: fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,20}$/), value: fc.string({ minLength: 1, maxLength: 30 }).filter((v) => !/[\x00-\x1f\x7f]/.test(v)) }, noNull),
      { minLength: 1, maxLength: 8, selector: (l) => l.name },
    ),
  },
  noNull,
);

const signalChoice: fc.Arbitrary<SignalChoice> = fc.option(
  fc.record({ signal: fc.constantFrom(...ENGINE_SIGNALS), value: fc.integer({ min: 1, max: 100 }), toZero: fc.option(scaleFromZero, { nil: undefined }) }, noNull),
  { nil: undefined },
);

/**
 * Replaces an autoscaled model's CPU target with an engine signal its engine exports; such a
 * target takes no raw metrics, and may go down to zero replicas.
 */
function withEngineSignal(scaling: Pick<SpecInput, 'replicas' | 'autoscaling'>, engine: Engine, choice: SignalChoice): Pick<SpecInput, 'replicas' | 'autoscaling'> {
  if (scaling.autoscaling === undefined || choice === undefined || !ENGINE_EXPORTED_SIGNALS[engine].includes(choice.signal)) return scaling;
  const { targetCPUUtilizationPercentage: _cpu, target: _target, metrics: _metrics, ...bounds } = scaling.autoscaling;
  const autoscaling = { ...bounds, target: { [choice.signal]: choice.value }, ...(choice.toZero ? { minReplicas: 0, scaleFromZero: choice.toZero } : {}) };
  return { ...scaling, autoscaling };
}

const securityContext = fc.oneof(
  optionalRecord({ runAsUser: fc.integer({ min: 1, max: 2_147_483_647 }), runAsGroup: fc.integer({ min: 0, max: 65_535 }), fsGroup: fc.integer({ min: 0, max: 65_535 }) }),
  fc.constant({ platformAssignedIds: true }),
  fc.record({ platformAssignedIds: fc.constant(false), runAsUser: fc.integer({ min: 1, max: 65_535 }) }, noNull),
);

const spec: fc.Arbitrary<SpecInput> = fc
  .record(
    {
      model: servedModel,
      scaling,
      engineAndSource,
      signal: signalChoice,
      optional: optionalRecord({
        image,
        imagePullPolicy: fc.constantFrom('Always' as const, 'IfNotPresent' as const, 'Never' as const),
        port: fc.integer({ min: 1, max: 65535 }),
        command: fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
        args: fc.array(fc.string({ maxLength: 30 }), { maxLength: 5 }),
        env,
        resources,
        nodeSelector: labels(3),
        tolerations: fc.array(toleration, { maxLength: 3 }),
        affinity,
        priorityClassName: fc.constantFrom('high-priority', 'inference.critical'),
        runtimeClassName: fc.constant('nvidia'),
        storage,
        probes,
        strategy,
        service,
        podLabels: labels(4),
        podAnnotations: annotations,
        suspend: fc.boolean(),
        podDisruptionBudget,
        sharedMemorySize: fc.oneof(fc.constantFrom('0', '1Gi', '512Mi'), fc.constant(8 * 2 ** 30)),
        securityContext,
        imagePullSecrets: fc.uniqueArray(fc.record({ name: dns1123Label(20) }, noNull), { selector: (secret) => secret.name, maxLength: 2 }),
        serviceAccountName: fc.constantFrom(...ARBITRARY_SERVICE_ACCOUNTS),
      }),
    },
    noNull,
  )
  .map(({ model, scaling: replicasAndAutoscaling, engineAndSource: { keepsStorage, ...engineSource }, signal, optional }) => {
    const { storage, ...rest } = optional;
    const scaling = withEngineSignal(replicasAndAutoscaling, engineSource.engine ?? 'openai-compatible', signal);
    return { model, ...scaling, ...engineSource, ...rest, ...(keepsStorage && storage !== undefined ? { storage } : {}) };
  });


/** A valid AIModel as a user or the API server would hold it: defaults not applied. */
export function arbitraryAIModelInput(): fc.Arbitrary<AIModelInput> {
  return fc
    .record(
      {
        name: arbitraryModelName(),
        namespace: dns1123Label(20),
        uid: fc.uuid(),
        generation: fc.integer({ min: 1, max: 1_000_000 }),
        spec,
      },
      noNull,
    )
    .map(({ name, namespace, uid, generation, spec: modelSpec }) => ({
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name, namespace, uid, generation },
      spec: modelSpec,
    }));
}

/** A valid AIModel with defaults applied, as parseAIModel returns it to the reconciler. */
export function arbitraryAIModel(): fc.Arbitrary<AIModel> {
  return arbitraryAIModelInput().map((input) => {
    const parsed = parseAIModel(input);
    if (!parsed.ok) {
      // A generator bug, not a property failure: say exactly what it produced.
      throw new Error(`arbitraryAIModelInput produced an invalid AIModel: ${JSON.stringify(parsed.problems)}\n${JSON.stringify(input)}`);
    }
    return parsed.model;
  });
}
