// The AIModel API (ai.openai.com/v1). This zod schema is the single source of truth: the CRD
// (crds/ai.openai.com_aimodels.yaml) is generated from it, the TypeScript types are inferred
// from it, and parseAIModel applies it to objects that never went through admission.
import { z } from 'zod';
import {
  CONDITION_REASON,
  CONDITION_TYPE,
  DNS1035_LABEL,
  DNS1123_LABEL,
} from './formats.ts';
import { annotationMap, dns1123Subdomain, labelMap, quantity } from './common.ts';
import { AUTOSCALING_SIGNALS, AutoscalingSchema, MAX_REPLICAS } from './autoscaling.ts';
import {
  ENGINES_WITH_HF_QUANT,
  ENGINES_WITHOUT_HF_DOWNLOAD,
  ENGINES_WITHOUT_HF_REVISION,
  ENGINES_WITHOUT_HF_TOKEN,
  ENGINE_EXPORTED_SIGNALS,
  ENGINE_SIGNAL_GAUGE,
  ENGINE_SIGNALS,
  ENGINES,
  EngineSchema,
  enginesExporting,
} from './engine.ts';
import type { Engine } from './engine.ts';
import {
  AffinitySchema,
  EnvSchema,
  ImagePullSecretsSchema,
  NodeSelectorSchema,
  PodSecuritySchema,
  ProbesSchema,
  ResourcesSchema,
  StorageSchema,
  StrategySchema,
  TolerationsSchema,
} from './pod.ts';
import { type CelValidation, withRules } from './rules.ts';
import { SourceSchema } from './source.ts';

export const GROUP = 'ai.openai.com';
export const VERSION = 'v1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'AIModel';
export const LIST_KIND = 'AIModelList';
export const PLURAL = 'aimodels';
export const SINGULAR = 'aimodel';
export const SHORT_NAMES = ['aim'] as const;
export const CATEGORIES = ['ai'] as const;

export const DEFAULT_PORT = 8000;

/**
 * Longest AIModel name. Every child is named after the model (the PVC adds `-models`), and the
 * Service name and the `app.kubernetes.io/instance` label value must fit in 63 characters. Capping
 * the parent name, as KubeAI does, keeps child names readable and predictable; hashing long names
 * (KServe's open issue #4807) would make `kubectl get svc <model>` guesswork. 50 leaves room for
 * suffixes up to 13 characters on future children.
 */
export const MAX_NAME_LENGTH = 50;

/** Labels the operator puts on the pods itself; podLabels may not override them. */
export const RESERVED_POD_LABELS = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/component',
  'app.kubernetes.io/managed-by',
  'ai.openai.com/model',
  'ai.openai.com/engine',
] as const;

/** The pod label naming the engine, for scrapers and autoscalers that pick metric names by engine. */
export const ENGINE_LABEL = 'ai.openai.com/engine';

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/;
const IMAGE_REFERENCE = /^\S+$/;

const PodLabelsSchema = withRules(
  labelMap({
    maxProperties: 32,
    description: `Extra labels for the model pods. The operator's own labels (${RESERVED_POD_LABELS.join(', ')}) cannot be set.`,
  }),
  [
    {
      rule: `[${RESERVED_POD_LABELS.map((key) => `'${key}'`).join(', ')}].all(k, !(k in self))`,
      message: `spec.podLabels must not set the operator's labels: ${RESERVED_POD_LABELS.join(', ')}`,
      holds: (self) => RESERVED_POD_LABELS.every((key) => !(key in self)),
    },
  ],
);

const ServiceSchema = z
  .object({
    type: z
      .enum(['ClusterIP', 'NodePort', 'LoadBalancer'])
      .default('ClusterIP')
      .describe('Service type. Defaults to ClusterIP.'),
    port: z
      .int()
      .min(1)
      .max(65535)
      .optional()
      .describe('Port the Service listens on (named http). Defaults to spec.port.'),
    annotations: annotationMap({
      maxProperties: 32,
      description: 'Annotations for the Service, e.g. cloud load-balancer settings.',
    }).optional(),
  })
  .describe('The Service in front of the model pods, named after the AIModel.');

const PodDisruptionBudgetSchema = withRules(
  z
    .object({
      enabled: z
        .boolean()
        .default(true)
        .describe('Create a PodDisruptionBudget for the model pods. Defaults to true; none is created while suspended.'),
      maxUnavailable: z
        .union([z.int().min(0).max(MAX_REPLICAS), z.string().max(4).regex(/^(100|[1-9]?[0-9])%$/)], {
          error: 'must be a non-negative integer or a percentage between 0% and 100%',
        })
        .meta({
          description:
            'Pods that voluntary disruptions (node drains) may take down at once. When neither this nor minAvailable is set, 1 is used, which never blocks a drain of a single replica.',
          'x-kubernetes-int-or-string': true,
        })
        .optional(),
      minAvailable: z
        .union([z.int().min(0).max(MAX_REPLICAS), z.string().max(4).regex(/^(100|[1-9]?[0-9])%$/)], {
          error: 'must be a non-negative integer or a percentage between 0% and 100%',
        })
        .meta({
          description: 'Pods that must stay available during voluntary disruptions; exclusive with maxUnavailable.',
          'x-kubernetes-int-or-string': true,
        })
        .optional(),
    })
    .describe('The PodDisruptionBudget protecting the model pods from node drains.'),
  [
    {
      rule: '!(has(self.maxUnavailable) && has(self.minAvailable))',
      message: 'spec.podDisruptionBudget.maxUnavailable and spec.podDisruptionBudget.minAvailable are mutually exclusive',
      holds: (self) => !(self.maxUnavailable !== undefined && self.minAvailable !== undefined),
    },
  ],
);

const stringList = (options: { maxItems: number; description: string }) =>
  z
    .array(z.string().max(4096).describe('One argument (at most 4096 characters).'))
    .max(options.maxItems)
    .describe(options.description);

const celList = (values: readonly string[]) => `[${values.map((value) => `'${value}'`).join(', ')}]`;
const isHf = (spec: { source?: { uri: string } | undefined }) => spec.source?.uri.startsWith('hf://') === true;

/** How spec.source combines with spec.storage and spec.engine. */
const SOURCE_RULES = [
  {
    rule: "!has(self.source) || self.source.uri.startsWith('hf://') || (has(self.storage.emptyDir) && !has(self.storage.emptyDir.sizeLimit) && !has(self.storage.emptyDir.medium))",
    message: 'spec.storage must be left out when spec.source is pvc:// or oci://: the source itself is mounted at /models',
    fieldPath: '.storage',
    holds: (spec: SpecRuleInput) =>
      spec.source === undefined ||
      isHf(spec) ||
      (spec.storage.emptyDir !== undefined && spec.storage.emptyDir.sizeLimit === undefined && spec.storage.emptyDir.medium === undefined),
  },
  {
    rule: `!has(self.source) || !self.source.uri.startsWith('hf://') || !(self.engine in ${celList(ENGINES_WITHOUT_HF_DOWNLOAD)})`,
    message: `spec.source: an hf:// source needs an engine with a downloader; spec.engine ${ENGINES_WITHOUT_HF_DOWNLOAD.join(', ')} has none (use pvc:// or oci://, or name the engine)`,
    fieldPath: '.source',
    holds: (spec: SpecRuleInput) => !isHf(spec) || !ENGINES_WITHOUT_HF_DOWNLOAD.includes(spec.engine),
  },
  {
    rule: `!has(self.source) || !self.source.uri.matches('^hf://[^@]*:') || self.engine in ${celList(ENGINES_WITH_HF_QUANT)}`,
    message: `spec.source.uri: a :<quantization> suffix is only for spec.engine ${ENGINES_WITH_HF_QUANT.join(' and ')}`,
    fieldPath: '.source',
    holds: (spec: SpecRuleInput) => !/^hf:\/\/[^@]*:/.test(spec.source?.uri ?? '') || ENGINES_WITH_HF_QUANT.includes(spec.engine),
  },
  {
    rule: `!has(self.source) || !self.source.uri.startsWith('hf://') || !self.source.uri.contains('@') || !(self.engine in ${celList(ENGINES_WITHOUT_HF_REVISION)})`,
    message: `spec.source.uri: spec.engine ${ENGINES_WITHOUT_HF_REVISION.join(' and ')} cannot pin an hf:// revision (@<revision>)`,
    fieldPath: '.source',
    holds: (spec: SpecRuleInput) => !isHf(spec) || !spec.source!.uri.includes('@') || !ENGINES_WITHOUT_HF_REVISION.includes(spec.engine),
  },
  {
    rule: `!has(self.source) || !has(self.source.tokenSecretRef) || !(self.engine in ${celList(ENGINES_WITHOUT_HF_TOKEN)})`,
    message: `spec.source.tokenSecretRef: spec.engine ${ENGINES_WITHOUT_HF_TOKEN.join(', ')} pulls from hf.co without a Hugging Face token`,
    fieldPath: '.source',
    holds: (spec: SpecRuleInput) => spec.source?.tokenSecretRef === undefined || !ENGINES_WITHOUT_HF_TOKEN.includes(spec.engine),
  },
];

/** An engine-signal target needs an engine that exports that gauge. */
const SIGNAL_RULES = ENGINE_SIGNALS.map((signal) => {
  const exporting = enginesExporting(signal);
  const silent = ENGINES.filter((engine) => !exporting.includes(engine));
  return {
    rule: `!has(self.autoscaling) || !has(self.autoscaling.target) || !has(self.autoscaling.target.${signal}) || self.engine in ${celList(exporting)}`,
    message: `spec.autoscaling.target.${signal}: spec.engine ${silent.join(', ')} exports no ${ENGINE_SIGNAL_GAUGE[signal]} gauge; engines that do: ${exporting.join(', ')}`,
    fieldPath: `.autoscaling.target.${signal}`,
    holds: (spec: { engine: Engine; autoscaling?: { target?: Partial<Record<string, unknown>> | undefined } | undefined }) =>
      spec.autoscaling?.target?.[signal] === undefined || ENGINE_EXPORTED_SIGNALS[spec.engine].includes(signal),
  };
});

type SpecRuleInput = {
  engine: (typeof ENGINES_WITHOUT_HF_DOWNLOAD)[number];
  source?: { uri: string; tokenSecretRef?: unknown } | undefined;
  storage: { emptyDir?: { sizeLimit?: unknown; medium?: unknown } | undefined };
};

export const AIModelSpecSchema = withRules(
  z
    .object({
      model: z
        .string()
        .min(1)
        .max(256)
        .regex(MODEL_NAME)
        .describe(
          'The model to serve, e.g. gpt-4o-agent or meta-llama/Llama-3.1-8B-Instruct: the id clients send as "model". Passed to the container as the MODEL environment variable, and to the engine as its served model name.',
        ),
      engine: EngineSchema,
      image: z
        .string()
        .min(1)
        .max(512)
        .regex(IMAGE_REFERENCE)
        .optional()
        .describe(
          'Container image of the inference server. Defaults to the engine\'s pinned image, which the operator\'s --engine-images (or, for openai-compatible, --default-image) may replace.',
        ),
      imagePullPolicy: z
        .enum(['Always', 'IfNotPresent', 'Never'])
        .optional()
        .describe('Image pull policy; absent lets Kubernetes decide (Always for :latest, else IfNotPresent).'),
      port: z
        .int()
        .min(1)
        .max(65535)
        .default(DEFAULT_PORT)
        .describe('Port the inference server listens on inside the container (named http). Defaults to 8000.'),
      command: stringList({
        maxItems: 32,
        description: 'Replaces the engine\'s command and its arguments: you own the command line, and only spec.args follow it.',
      }).optional(),
      args: stringList({
        maxItems: 128,
        description: 'Arguments appended after the engine\'s own, e.g. [--max-model-len, "8192"]; engines that read an option twice take the last.',
      }).optional(),
      env: EnvSchema.optional(),
      resources: ResourcesSchema.optional(),
      replicas: z
        .int()
        .min(0)
        .max(MAX_REPLICAS)
        .optional()
        .describe(
          'Number of model pods when autoscaling is not set; absent means 1, 0 stops the pods. With autoscaling set, the HPA owns the count and this value, if given, must lie within [minReplicas, maxReplicas]. Target of the scale subresource.',
        ),
      autoscaling: AutoscalingSchema.optional(),
      nodeSelector: NodeSelectorSchema.optional(),
      tolerations: TolerationsSchema.optional(),
      affinity: AffinitySchema.optional(),
      priorityClassName: dns1123Subdomain('PriorityClass of the model pods, e.g. to let inference preempt batch jobs.').optional(),
      runtimeClassName: dns1123Subdomain('RuntimeClass of the model pods, e.g. nvidia on clusters that need it for GPUs.').optional(),
      source: SourceSchema.optional(),
      storage: StorageSchema.prefault({ emptyDir: {} }),
      sharedMemorySize: quantity(
        'Size of the in-memory /dev/shm, which tensor parallelism across GPUs needs (the container default of 64 MiB makes NCCL fail). Defaults to 2Gi per nvidia.com/gpu, at most 16Gi, for GPU models and to none otherwise; 0 turns it off. Counted against the memory limit as it is used.',
      ).optional(),
      securityContext: PodSecuritySchema.optional(),
      imagePullSecrets: ImagePullSecretsSchema.optional(),
      serviceAccountName: dns1123Subdomain(
        'An existing ServiceAccount for the model pods, e.g. one bound to a cloud identity for reading weights from object storage. The operator creates none. With it, the account\'s token is mounted (as a Deployment with that account would have it); without it, the pods run as the namespace\'s default account with no token mounted.',
      ).optional(),
      probes: ProbesSchema.prefault({}),
      strategy: StrategySchema.prefault({}),
      service: ServiceSchema.prefault({}),
      podLabels: PodLabelsSchema.optional(),
      podAnnotations: annotationMap({ maxProperties: 32, description: 'Extra annotations for the model pods.' }).optional(),
      suspend: z
        .boolean()
        .default(false)
        .describe('Scale the model to zero and remove its HPA and PDB, keeping the rest (Service, storage). Defaults to false.'),
      podDisruptionBudget: PodDisruptionBudgetSchema.prefault({}),
    })
    .describe('The desired state of the model server.'),
  [
    ...SOURCE_RULES,
    ...SIGNAL_RULES,
    {
      rule: '!has(self.autoscaling) || !has(self.replicas) || (self.replicas >= self.autoscaling.minReplicas && self.replicas <= self.autoscaling.maxReplicas)',
      message: 'spec.replicas must lie within [spec.autoscaling.minReplicas, spec.autoscaling.maxReplicas] when spec.autoscaling is set',
      fieldPath: '.replicas',
      holds: (self) =>
        self.autoscaling === undefined ||
        self.replicas === undefined ||
        (self.replicas >= self.autoscaling.minReplicas && self.replicas <= self.autoscaling.maxReplicas),
    },
  ],
);

export const PHASES = ['Pending', 'Progressing', 'Ready', 'Degraded', 'Suspended', 'Failed'] as const;

export const ConditionSchema = z
  .object({
    type: z.string().min(1).max(316).regex(CONDITION_TYPE).describe('Condition type in CamelCase, e.g. Ready.'),
    status: z.enum(['True', 'False', 'Unknown']).describe('True, False or Unknown.'),
    observedGeneration: z
      .int()
      .min(0)
      .optional()
      .describe('The .metadata.generation the condition was computed from.'),
    lastTransitionTime: z
      .string()
      .min(1)
      .max(64)
      .meta({ format: 'date-time', description: 'When the status last changed.' }),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(CONDITION_REASON)
      .describe('Machine-readable CamelCase reason for the last transition.'),
    message: z.string().max(32768).describe('Human-readable details of the last transition.'),
  })
  .describe('A metav1.Condition.');

const replicaCount = (description: string) => z.int().min(0).max(2_147_483_647).optional().describe(description);

export const AIModelStatusSchema = z
  .object({
    observedGeneration: z
      .int()
      .min(0)
      .optional()
      .describe('The .metadata.generation this status describes.'),
    phase: z
      .enum(PHASES)
      .optional()
      .describe('Summary: Pending, Progressing, Ready, Degraded, Suspended or Failed. Conditions carry the details.'),
    conditions: z
      .array(ConditionSchema)
      .max(16)
      .optional()
      .meta({
        description: 'Observations of the model\'s state, one per type (Ready, Available, Progressing, ...).',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
    replicas: replicaCount('Model pods that exist (the Deployment\'s status.replicas). Source of the scale subresource.'),
    readyReplicas: replicaCount('Model pods that are ready.'),
    updatedReplicas: replicaCount('Model pods running the current spec.'),
    availableReplicas: replicaCount('Model pods ready for at least minReadySeconds.'),
    desiredReplicas: replicaCount(
      'Pods wanted right now: the autoscaler\'s desired count when autoscaling (its HorizontalPodAutoscaler\'s, or KEDA\'s when it scaled to zero), else spec.replicas (0 while suspended).',
    ),
    autoscaling: z
      .object({
        autoscaler: z
          .string()
          .max(300)
          .optional()
          .describe('The object that decides the replica count, e.g. HorizontalPodAutoscaler gpt-4o-agent, or ScaledObject llama (HorizontalPodAutoscaler keda-hpa-llama).'),
        signal: z
          .enum(AUTOSCALING_SIGNALS)
          .optional()
          .describe('The signal scaled on, as named in spec.autoscaling.target (cpuUtilizationPercent when CPU is the target).'),
        target: z.number().min(0).optional().describe('Its target per replica.'),
        current: z
          .number()
          .min(0)
          .optional()
          .describe('Its current value per replica, as the HorizontalPodAutoscaler last measured it (for an engine signal: the total over the replicas divided by their number).'),
      })
      .optional()
      .describe('What the autoscaler sees: the signal, its current value against the target, and who decides; absent when autoscaling is off.'),
    selector: z
      .string()
      .max(1024)
      .optional()
      .describe('Label selector of the model pods, in string form, for the scale subresource.'),
    endpoint: z
      .string()
      .max(512)
      .optional()
      .describe('In-cluster URL of the model, e.g. http://gpt-4o-agent.default.svc.cluster.local:8000.'),
  })
  .describe('The observed state of the model server.');

const NAME_TOO_LONG = `metadata.name must be at most ${MAX_NAME_LENGTH} characters, so that the names of the objects created for the model fit in 63`;
const NAME_NOT_DNS1035 =
  'metadata.name must start with a letter and contain only lowercase letters, digits and -, as it names the model\'s Service';

/**
 * Rules on the whole object, which the CRD generator puts at the schema root: CEL there is the
 * only way to constrain metadata.name with a readable message. parseAIModel enforces the same
 * constraints on metadata.name below.
 */
export const ROOT_VALIDATIONS: CelValidation[] = [
  { rule: `self.metadata.name.size() <= ${MAX_NAME_LENGTH}`, message: NAME_TOO_LONG },
  { rule: `self.metadata.name.matches('${DNS1035_LABEL.source}')`, message: NAME_NOT_DNS1035 },
];

const AIModelMetadataSchema = z.looseObject({
  name: z.string().max(MAX_NAME_LENGTH, { message: NAME_TOO_LONG }).regex(DNS1035_LABEL, { message: NAME_NOT_DNS1035 }),
  namespace: z.string().min(1).max(63).regex(DNS1123_LABEL),
  uid: z.string().min(1).max(128),
  generation: z.int().min(0).optional(),
});

export const AIModelSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(KIND),
  metadata: AIModelMetadataSchema,
  spec: AIModelSpecSchema,
  status: AIModelStatusSchema.optional(),
});

export type AIModel = z.output<typeof AIModelSchema>;
/** What a user writes: defaults not yet applied. */
export type AIModelInput = z.input<typeof AIModelSchema>;
export type AIModelSpec = z.output<typeof AIModelSpecSchema>;
export type AIModelSpecInput = z.input<typeof AIModelSpecSchema>;
export type AIModelStatus = z.output<typeof AIModelStatusSchema>;
export type Condition = z.output<typeof ConditionSchema>;
export type Phase = (typeof PHASES)[number];

const AIModelWithoutStatusSchema = AIModelSchema.omit({ status: true });

export type FieldProblem = { path: string; message: string };
export type ParseResult = { ok: true; model: AIModel } | { ok: false; problems: FieldProblem[] };

/**
 * Validates and defaults an AIModel read from the API server. Objects normally passed the same
 * rules at admission; this catches the ones that did not (stored under an older CRD, or rules the
 * CRD cannot express, such as label-key syntax and requests <= limits). Never throws. A status that
 * does not fit the current schema is dropped rather than reported: it is observed state and the
 * operator rewrites it, while reporting it would block reconciling a perfectly valid spec.
 */
export function parseAIModel(obj: unknown): ParseResult {
  try {
    const parsed = AIModelWithoutStatusSchema.safeParse(obj);
    if (!parsed.success) {
      return { ok: false, problems: parsed.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })) };
    }
    const rawStatus = (obj as { status?: unknown }).status;
    const status = rawStatus === undefined ? undefined : AIModelStatusSchema.safeParse(rawStatus);
    const model: AIModel = status?.success ? { ...parsed.data, status: status.data } : parsed.data;
    return { ok: true, model };
  } catch (error) {
    // Only hostile inputs get here (throwing getters, proxies); the reconciler must still go on.
    return { ok: false, problems: [{ path: '', message: `object could not be read: ${describeError(error)}` }] };
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** ['spec', 'env', 0, 'name'] → 'spec.env[0].name'; map keys that are not identifiers go in brackets. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${String(segment)}]`;
  }
  return out;
}

function describeError(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'unknown error';
  }
}
