// The pod-shaping parts of AIModel.spec. Deliberately narrower than a PodSpec: nothing here can
// make a pod privileged, share the host's namespaces, mount host paths or run as root, and a
// ServiceAccount can only be named, not created, so being allowed to write an AIModel never grants
// more than the restricted Pod Security level, or more than writing a Deployment would.
import { z } from 'zod';
import { ENV_VAR_NAME, isQualifiedName, LABEL_VALUE, quantityValue } from './formats.ts';
import {
  boundedMap,
  countOrPercent,
  dns1123Subdomain,
  isZeroCountOrPercent,
  labelValue,
  preservedObject,
  qualifiedName,
  quantity,
} from './common.ts';
import { withRules } from './rules.ts';

/** The model container's name; ContainerResource metrics must name it. */
export const MODEL_CONTAINER_NAME = 'inference';
/** The environment variable that carries spec.model into the container. */
export const MODEL_ENV_NAME = 'MODEL';
/** Where the model volume is mounted. */
export const MODEL_MOUNT_PATH = '/models';

const KeyRefSchema = z.object({
  name: dns1123Subdomain('Name of the object in the model\'s namespace.'),
  key: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[-._a-zA-Z0-9]+$/)
    .describe('The key within the object whose value becomes the variable.'),
  optional: z.boolean().optional().describe('Start the container even when the object or key does not exist.'),
});

const EnvVarSourceSchema = withRules(
  z
    .object({
      configMapKeyRef: KeyRefSchema.describe('Take the value from a key of a ConfigMap.').optional(),
      secretKeyRef: KeyRefSchema.describe(
        'Take the value from a key of a Secret. The kubelet reads it; the operator never does.',
      ).optional(),
    })
    .describe('Where the value comes from: exactly one of configMapKeyRef or secretKeyRef.'),
  [
    {
      rule: 'has(self.configMapKeyRef) != has(self.secretKeyRef)',
      message: 'spec.env[].valueFrom must set exactly one of configMapKeyRef or secretKeyRef',
      holds: (self) => (self.configMapKeyRef === undefined) !== (self.secretKeyRef === undefined),
    },
  ],
);

const EnvVarSchema = withRules(
  z
    .object({
      name: z.string().min(1).max(128).regex(ENV_VAR_NAME).describe('Variable name; must be unique within spec.env.'),
      value: z.string().max(4096).optional().describe('Literal value (at most 4096 characters).'),
      valueFrom: EnvVarSourceSchema.optional(),
    })
    .describe('An environment variable for the model container: a literal value or a ConfigMap/Secret key.'),
  [
    {
      rule: '!(has(self.value) && has(self.valueFrom))',
      message: 'spec.env[].value and spec.env[].valueFrom are mutually exclusive',
      holds: (self) => !(self.value !== undefined && self.valueFrom !== undefined),
    },
  ],
);

export const EnvSchema = withRules(
  z
    .array(EnvVarSchema)
    .max(128)
    .refine((env) => new Set(env.map((e) => e.name)).size === env.length, { message: 'env names must be unique' })
    .meta({
      description: `Extra environment variables for the model container, after ${MODEL_ENV_NAME} (which comes from spec.model and cannot be set here) and the engine's own variables; a variable with the name of one of the engine's replaces it.`,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    }),
  [
    {
      rule: `self.all(e, e.name != '${MODEL_ENV_NAME}')`,
      message: `spec.env must not set ${MODEL_ENV_NAME}; it comes from spec.model`,
      holds: (self) => self.every((e) => e.name !== MODEL_ENV_NAME),
    },
  ],
);

/** Names a container may request; hugepages are left out because they need node-specific sizes. */
const RESOURCE_NAME = /^(cpu|memory|ephemeral-storage|[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const STANDARD_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);
export const GPU_RESOURCE = 'nvidia.com/gpu';

/** Extended resources (GPUs and other device-plugin resources) are whole, non-overcommitted units. */
export function isExtendedResource(name: string): boolean {
  return !STANDARD_RESOURCES.has(name);
}

const resourceName = z
  .string()
  .max(253)
  .regex(RESOURCE_NAME, { message: 'must be cpu, memory, ephemeral-storage or a domain-prefixed name such as nvidia.com/gpu' })
  .refine((name) => !name.startsWith('kubernetes.io/') && !name.includes('.kubernetes.io/'), {
    message: 'kubernetes.io resources other than cpu, memory and ephemeral-storage are not container resources',
  });

const resourceList = (description: string) =>
  boundedMap(resourceName, quantity('A quantity, e.g. 500m, 16Gi or 1.'), { maxProperties: 16, description });

export const ResourcesSchema = z
  .object({
    requests: resourceList(
      'Minimum resources to schedule the pod, e.g. {cpu: "4", memory: 32Gi, nvidia.com/gpu: 1}. Keys are checked by the operator: cpu, memory, ephemeral-storage, or <domain>/<name>.',
    ).optional(),
    limits: resourceList(
      'Maximum resources. An extended resource such as nvidia.com/gpu given only in requests is copied here, as Kubernetes requires equal requests and limits for it.',
    ).optional(),
  })
  .superRefine((resources, ctx) => {
    const requests = resources.requests ?? {};
    const limits = resources.limits ?? {};
    for (const [name, request] of Object.entries(requests)) {
      const requested = quantityValue(request);
      const limit = limits[name];
      if (isExtendedResource(name) && requested !== undefined && !Number.isInteger(requested)) {
        ctx.addIssue({ code: 'custom', message: `${name} must be a whole number`, path: ['requests', name], input: request });
      }
      if (limit === undefined) continue;
      const limited = quantityValue(limit);
      if (requested === undefined || limited === undefined) continue;
      if (isExtendedResource(name) ? requested !== limited : requested > limited) {
        ctx.addIssue({
          code: 'custom',
          message: isExtendedResource(name)
            ? `requests and limits of ${name} must be equal`
            : `requests.${name} must be less than or equal to limits.${name}`,
          path: ['requests', name],
          input: request,
        });
      }
    }
    for (const [name, limit] of Object.entries(limits)) {
      const limited = quantityValue(limit);
      if (isExtendedResource(name) && limited !== undefined && !Number.isInteger(limited)) {
        ctx.addIssue({ code: 'custom', message: `${name} must be a whole number`, path: ['limits', name], input: limit });
      }
    }
  })
  .describe(
    'Compute resources of the model container. Requesting nvidia.com/gpu also adds a toleration for the nvidia.com/gpu taint (operator setting).',
  );

const TolerationSchema = withRules(
  z
    .object({
      key: qualifiedName('Taint key to tolerate; empty with operator Exists tolerates every taint.').optional(),
      operator: z
        .enum(['Exists', 'Equal'])
        .default('Equal')
        .describe('Equal matches key and value; Exists matches any value of the key. Defaults to Equal.'),
      value: labelValue('Taint value to match; empty when operator is Exists.').optional(),
      effect: z
        .enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'])
        .optional()
        .describe('Taint effect to match; absent matches all effects.'),
      tolerationSeconds: z
        .int()
        .min(0)
        .max(31_536_000)
        .optional()
        .describe('For NoExecute only: how long the pod stays bound after the taint appears.'),
    })
    .describe('A toleration for the model pods.'),
  [
    {
      rule: "self.operator != 'Exists' || !has(self.value) || self.value == ''",
      message: 'spec.tolerations[].value must be empty when operator is Exists',
      fieldPath: '.value',
      holds: (self) => self.operator !== 'Exists' || (self.value ?? '') === '',
    },
    {
      rule: "(has(self.key) && self.key != '') || self.operator == 'Exists'",
      message: 'spec.tolerations[].operator must be Exists when key is empty',
      fieldPath: '.operator',
      holds: (self) => (self.key ?? '') !== '' || self.operator === 'Exists',
    },
    {
      rule: "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
      message: 'spec.tolerations[].tolerationSeconds requires effect NoExecute',
      fieldPath: '.tolerationSeconds',
      holds: (self) => self.tolerationSeconds === undefined || self.effect === 'NoExecute',
    },
  ],
);

export const TolerationsSchema = z
  .array(TolerationSchema)
  .max(32)
  .describe('Tolerations for the model pods, e.g. for dedicated GPU node pools.');

export const NodeSelectorSchema = boundedMap(
  z.string().refine(isQualifiedName, { message: 'must be a valid label key: [prefix/]name' }),
  z.string().max(63).regex(LABEL_VALUE).describe('A node label value.'),
  { maxProperties: 32, description: 'Node labels the model pods must be scheduled on, e.g. {nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB}.' },
);

// The shape of core/v1 Affinity, checked by parseAIModel only: the CRD keeps affinity schemaless
// (its full OpenAPI would dwarf the rest of the CRD), so junk inside it passes admission, and
// server-side apply of the Deployment would then fail with a 500. The operator reports it as an
// invalid spec instead of sending a child the API server cannot take.
const strings = z.array(z.string().max(253)).max(64);

/** The operator's values as the API server requires them: some for In/NotIn, none for (Does)Exist(s), one integer for Gt/Lt. */
function valuesFitOperator(requirement: { operator: string; values?: string[] | undefined }, ctx: z.RefinementCtx): void {
  const count = requirement.values?.length ?? 0;
  const problem =
    (requirement.operator === 'In' || requirement.operator === 'NotIn') && count === 0
      ? `values must be given when operator is ${requirement.operator}`
      : (requirement.operator === 'Exists' || requirement.operator === 'DoesNotExist') && count > 0
        ? `values must be empty when operator is ${requirement.operator}`
        : (requirement.operator === 'Gt' || requirement.operator === 'Lt') && (count !== 1 || !/^-?\d+$/.test(requirement.values![0]!))
          ? `values must be a single integer when operator is ${requirement.operator}`
          : undefined;
  if (problem) ctx.addIssue({ code: 'custom', path: ['values'], message: problem });
}

const NodeSelectorRequirement = z
  .strictObject({
    key: z.string().min(1).max(317),
    operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']),
    values: strings.optional(),
  })
  .superRefine(valuesFitOperator);
const NodeSelectorTerm = z.strictObject({
  matchExpressions: z.array(NodeSelectorRequirement).max(32).optional(),
  matchFields: z.array(NodeSelectorRequirement).max(32).optional(),
});
const StrictLabelSelector = z.strictObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z
    .array(z.strictObject({ key: z.string().min(1).max(317), operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']), values: strings.optional() }).superRefine(valuesFitOperator))
    .max(32)
    .optional(),
});
const PodAffinityTerm = z.strictObject({
  labelSelector: StrictLabelSelector.optional(),
  namespaceSelector: StrictLabelSelector.optional(),
  namespaces: strings.optional(),
  topologyKey: z.string().min(1).max(317),
  matchLabelKeys: strings.optional(),
  mismatchLabelKeys: strings.optional(),
});
const weight = z.int().min(1).max(100);
const PodAffinityRules = z.strictObject({
  requiredDuringSchedulingIgnoredDuringExecution: z.array(PodAffinityTerm).max(32).optional(),
  preferredDuringSchedulingIgnoredDuringExecution: z.array(z.strictObject({ weight, podAffinityTerm: PodAffinityTerm })).max(32).optional(),
});
const StrictAffinity = z.strictObject({
  nodeAffinity: z
    .strictObject({
      requiredDuringSchedulingIgnoredDuringExecution: z.strictObject({ nodeSelectorTerms: z.array(NodeSelectorTerm).min(1).max(32) }).optional(),
      preferredDuringSchedulingIgnoredDuringExecution: z.array(z.strictObject({ weight, preference: NodeSelectorTerm })).max(32).optional(),
    })
    .optional(),
  podAffinity: PodAffinityRules.optional(),
  podAntiAffinity: PodAffinityRules.optional(),
});

export const AffinitySchema = z
  .object({
    nodeAffinity: preservedObject('A core/v1 NodeAffinity, passed to the pods unchanged.').optional(),
    podAffinity: preservedObject('A core/v1 PodAffinity, passed to the pods unchanged.').optional(),
    podAntiAffinity: preservedObject(
      'A core/v1 PodAntiAffinity, passed to the pods unchanged; e.g. spread replicas across nodes.',
    ).optional(),
  })
  .superRefine((affinity, ctx) => {
    const checked = StrictAffinity.safeParse(affinity);
    if (!checked.success) for (const issue of checked.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  })
  .describe('Scheduling affinity of the model pods (core/v1 Affinity). Its content is validated by the API server when the Deployment is applied.');

/** The numbers and path of one HTTP probe; every engine preset has one for each of its probes. */
export type ProbeSettings = {
  path: string;
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
};

const HTTP_PATH = /^\/[!-~]*$/;

// No defaults here but `enabled`: a value absent from the stored object is taken from the engine
// preset (spec.engine), so switching engines switches probe paths and startup budgets too, while
// any field the user set wins over the preset.
function probe(purpose: string) {
  return z.object({
    enabled: z.boolean().default(true).describe(`Whether the ${purpose} probe runs. Defaults to true.`),
    path: z
      .string()
      .min(1)
      .max(256)
      .regex(HTTP_PATH)
      .optional()
      .describe('HTTP path probed with GET on the container port (named http). Defaults to the engine\'s (see spec.engine).'),
    initialDelaySeconds: z
      .int()
      .min(0)
      .max(3600)
      .optional()
      .describe('Seconds after the container starts before the first probe. Defaults to the engine\'s (0).'),
    periodSeconds: z.int().min(1).max(3600).optional().describe('Seconds between probes. Defaults to the engine\'s.'),
    timeoutSeconds: z.int().min(1).max(3600).optional().describe('Seconds after which a probe times out. Defaults to the engine\'s.'),
    failureThreshold: z
      .int()
      .min(1)
      .max(100_000)
      .optional()
      .describe('Consecutive failures before the probe counts as failed. Defaults to the engine\'s.'),
  });
}

export const ProbesSchema = z
  .object({
    startup: probe('startup')
      .describe(
        'Holds off readiness and liveness until the model has loaded. The engine presets give 30 minutes (openai-compatible, ollama) or 1 hour (the others) as period 10 s x failureThreshold; raise failureThreshold for bigger models.',
      )
      .prefault({}),
    readiness: probe('readiness')
      .extend({
        successThreshold: z
          .int()
          .min(1)
          .max(100)
          .default(1)
          .describe('Consecutive successes before the pod receives traffic again. Defaults to 1.'),
      })
      .describe(
        'Decides whether the Service sends requests to a pod. If the server answers its health path before the model is loaded, point this at /v1/models.',
      )
      .prefault({}),
    liveness: probe('liveness')
      .describe('Restarts a container that stopped answering. Starts only after the startup probe succeeded.')
      .prefault({}),
  })
  .describe('HTTP probes of the model container. Fields left out come from the engine preset (spec.engine), which suits models that take minutes to load.');

export const StorageSchema = withRules(
  z
    .object({
      emptyDir: z
        .object({
          sizeLimit: quantity('Maximum size of the volume, e.g. 100Gi; absent means no limit.').optional(),
          medium: z
            .enum(['Memory'])
            .optional()
            .describe('Memory puts the volume in RAM (tmpfs, counted against the memory limit); absent uses node disk.'),
        })
        .describe('A scratch volume that lives as long as the pod: weights are downloaded again on every restart.')
        .optional(),
      existingClaim: z
        .object({
          claimName: dns1123Subdomain('Name of a PersistentVolumeClaim in the model\'s namespace.'),
        })
        .describe('Mount a PersistentVolumeClaim the user manages, e.g. one pre-loaded with weights.')
        .optional(),
      volumeClaim: z
        .object({
          size: quantity('Requested storage, e.g. 200Gi.'),
          storageClassName: dns1123Subdomain(
            'StorageClass of the claim; absent uses the cluster default. Fixed once the claim exists.',
          ).optional(),
          accessModes: z
            .array(z.enum(['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod']).describe('An access mode.'))
            .min(1)
            .max(4)
            .default(['ReadWriteOnce'])
            .describe(
              'Access modes of the claim. Defaults to [ReadWriteOnce], which confines all replicas to one node; use ReadWriteMany to spread them.',
            ),
        })
        .describe('A PersistentVolumeClaim the operator creates (named <name>-models) and deletes with the AIModel.')
        .optional(),
    })
    .describe(
      `The volume mounted at ${MODEL_MOUNT_PATH} for model weights: exactly one of emptyDir, existingClaim or volumeClaim. Defaults to an emptyDir.`,
    ),
  [
    {
      rule: '[has(self.emptyDir), has(self.existingClaim), has(self.volumeClaim)].filter(x, x).size() == 1',
      message: 'spec.storage must set exactly one of emptyDir, existingClaim or volumeClaim',
      holds: (self) =>
        [self.emptyDir, self.existingClaim, self.volumeClaim].filter((kind) => kind !== undefined).length === 1,
    },
  ],
);

export const StrategySchema = withRules(
  z
    .object({
      type: z
        .enum(['RollingUpdate', 'Recreate'])
        .default('RollingUpdate')
        .describe('RollingUpdate replaces pods gradually; Recreate stops all old pods first. Defaults to RollingUpdate.'),
      rollingUpdate: withRules(
        z
          .object({
            maxSurge: countOrPercent(
              'Pods created above the desired count during a rollout. Defaults to 1: a new pod must be ready before an old one goes, which needs room for one more pod (its GPUs included).',
              { percentAtMost100: false },
            ).default(1),
            maxUnavailable: countOrPercent(
              'Pods that may be unavailable during a rollout. Defaults to 0, so the model never serves with fewer replicas than it should; set 1 (with maxSurge 0) where the GPU pool has no room for an extra pod.',
              { percentAtMost100: true },
            ).default(0),
          })
          .describe('Rolling update parameters; only with type RollingUpdate. Absent means maxSurge 1, maxUnavailable 0.'),
        [
          {
            rule: "!(string(self.maxSurge) in ['0', '0%'] && string(self.maxUnavailable) in ['0', '0%'])",
            message: 'spec.strategy.rollingUpdate.maxSurge and spec.strategy.rollingUpdate.maxUnavailable must not both be 0',
            fieldPath: '.maxUnavailable',
            holds: (self) => !(isZeroCountOrPercent(self.maxSurge) && isZeroCountOrPercent(self.maxUnavailable)),
          },
        ],
      ).optional(),
    })
    .describe(
      'How pods are replaced when the spec changes. The default (RollingUpdate, maxSurge 1, maxUnavailable 0) never dips below the replica count; a surge pod that finds no free GPU is reported as InsufficientGPU while the old pods keep serving. On a GPU pool with no room for one more pod, use maxSurge 0, maxUnavailable 1 (one pod fewer during the rollout) or Recreate.',
    ),
  [
    {
      rule: "self.type == 'RollingUpdate' || !has(self.rollingUpdate)",
      message: 'spec.strategy.rollingUpdate may only be set when spec.strategy.type is RollingUpdate',
      fieldPath: '.rollingUpdate',
      holds: (self) => self.type === 'RollingUpdate' || self.rollingUpdate === undefined,
    },
  ],
);

const MAX_ID = 2_147_483_647;

export const PodSecuritySchema = withRules(
  z
    .object({
      runAsUser: z
        .int()
        .min(1)
        .max(MAX_ID)
        .optional()
        .describe('User id of the model pods\' processes; never 0 (pods always run as non-root). Absent: the operator\'s default.'),
      runAsGroup: z
        .int()
        .min(0)
        .max(MAX_ID)
        .optional()
        .describe('Primary group id of the model pods\' processes. Absent: the operator\'s default.'),
      fsGroup: z
        .int()
        .min(0)
        .max(MAX_ID)
        .optional()
        .describe('Group that owns the pods\' volumes, so the server can write downloaded weights. Absent: the operator\'s default.'),
      platformAssignedIds: z
        .boolean()
        .optional()
        .describe(
          'Set no user, group or fsGroup at all, so the platform assigns them (OpenShift\'s restricted SCCs pick a uid from the namespace\'s range and refuse any other). The pods still run as non-root.',
        ),
    })
    .describe(
      'Who the model pods run as, within the restricted Pod Security Standard: runAsNonRoot, no privilege escalation, all capabilities dropped and the RuntimeDefault seccomp profile always apply.',
    ),
  [
    {
      rule: '!has(self.platformAssignedIds) || !self.platformAssignedIds || (!has(self.runAsUser) && !has(self.runAsGroup) && !has(self.fsGroup))',
      message: 'spec.securityContext.platformAssignedIds leaves the ids to the platform: runAsUser, runAsGroup and fsGroup must not be set with it',
      fieldPath: '.platformAssignedIds',
      holds: (self) =>
        self.platformAssignedIds !== true ||
        (self.runAsUser === undefined && self.runAsGroup === undefined && self.fsGroup === undefined),
    },
  ],
);

export const ImagePullSecretsSchema = z
  .array(
    z
      .object({ name: dns1123Subdomain('Name of a Secret of type kubernetes.io/dockerconfigjson in the model\'s namespace.') })
      .describe('A pull Secret, by name.'),
  )
  .max(16)
  .meta({
    description:
      'Secrets the kubelet uses to pull the model images (e.g. nvcr.io for NIM). The operator passes the names and never reads the Secrets.',
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['name'],
  });
