// spec.autoscaling: bounds and a target in the user's terms (CPU, or an engine's queue length,
// running requests or KV-cache use per replica), plus a typed subset of autoscaling/v2
// HorizontalPodAutoscaler, so custom and external metrics pass straight through to the HPA.
import { z } from 'zod';
import { quantityValue } from './formats.ts';
import { dns1123Label, dns1123Subdomain, LabelSelectorSchema, quantity } from './common.ts';
import { MODEL_CONTAINER_NAME } from './pod.ts';
import { withRules } from './rules.ts';
import { ENGINE_SIGNALS, type EngineSignal } from './engine.ts';

/** Upper bound of every replica count; far above any real model fleet, well inside int32. */
export const MAX_REPLICAS = 10_000;

const positiveQuantity = (description: string) =>
  quantity(description).refine((value) => (quantityValue(value) ?? 0) > 0, { message: 'must be greater than 0' });

const MetricTargetSchema = withRules(
  z
    .object({
      type: z
        .enum(['Utilization', 'Value', 'AverageValue'])
        .describe('Utilization (percent of the request, Resource metrics only), Value or AverageValue.'),
      averageUtilization: z
        .int()
        .min(1)
        .max(10_000)
        .optional()
        .describe('Target mean utilisation in percent of the requested resource; for type Utilization.'),
      averageValue: positiveQuantity('Target mean value per pod; for type AverageValue.').optional(),
      value: positiveQuantity('Target total value; for type Value.').optional(),
    })
    .describe('The target value of the metric.'),
  [
    {
      rule: "self.type != 'Utilization' || has(self.averageUtilization)",
      message: 'spec.autoscaling.metrics[].target.averageUtilization is required when type is Utilization',
      holds: (self) => self.type !== 'Utilization' || self.averageUtilization !== undefined,
    },
    {
      rule: "self.type != 'AverageValue' || has(self.averageValue)",
      message: 'spec.autoscaling.metrics[].target.averageValue is required when type is AverageValue',
      holds: (self) => self.type !== 'AverageValue' || self.averageValue !== undefined,
    },
    {
      rule: "self.type != 'Value' || has(self.value)",
      message: 'spec.autoscaling.metrics[].target.value is required when type is Value',
      holds: (self) => self.type !== 'Value' || self.value !== undefined,
    },
  ],
);

export type MetricTarget = z.output<typeof MetricTargetSchema>;

function targetOf(types: readonly MetricTarget['type'][], source: string) {
  return withRules(MetricTargetSchema, [
    {
      rule: `self.type in [${types.map((t) => `'${t}'`).join(', ')}]`,
      message: `spec.autoscaling.metrics[].${source}.target.type must be ${types.join(' or ')}`,
      fieldPath: '.type',
      holds: (self) => types.includes(self.type),
    },
  ]);
}

const MetricIdentifierSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[^/%]+$/)
      .refine((name) => name !== '.' && name !== '..', { message: 'must not be . or ..' })
      .describe('Metric name as served by the metrics adapter, e.g. vllm:num_requests_waiting.'),
    selector: LabelSelectorSchema.optional(),
  })
  .describe('Identifies the metric: its name and an optional label selector.');

const resourceMetricName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.\/]*[a-z0-9])?$/)
  .describe('Resource name, e.g. cpu or memory.');

const MetricSpecSchema = withRules(
  z
    .object({
      type: z
        .enum(['Resource', 'ContainerResource', 'Pods', 'Object', 'External'])
        .describe('Which of the source fields is set.'),
      resource: z
        .object({ name: resourceMetricName, target: targetOf(['Utilization', 'AverageValue'], 'resource') })
        .describe('A resource metric of the whole pod, e.g. memory utilisation.')
        .optional(),
      containerResource: withRules(
        z
          .object({
            name: resourceMetricName,
            container: dns1123Label(`The container to measure; must be ${MODEL_CONTAINER_NAME}, the model container.`),
            target: targetOf(['Utilization', 'AverageValue'], 'containerResource'),
          })
          .describe('A resource metric of the model container only.'),
        [
          {
            rule: `self.container == '${MODEL_CONTAINER_NAME}'`,
            message: `spec.autoscaling.metrics[].containerResource.container must be ${MODEL_CONTAINER_NAME}, the model container`,
            fieldPath: '.container',
            holds: (self) => self.container === MODEL_CONTAINER_NAME,
          },
        ],
      ).optional(),
      pods: z
        .object({ metric: MetricIdentifierSchema, target: targetOf(['AverageValue'], 'pods') })
        .describe('A per-pod custom metric averaged over the model pods, e.g. requests waiting.')
        .optional(),
      object: z
        .object({
          describedObject: z
            .object({
              apiVersion: z.string().max(253).optional().describe('API version of the object, e.g. v1.'),
              kind: z.string().min(1).max(63).describe('Kind of the object, e.g. Service.'),
              name: dns1123Subdomain('Name of the object, in the model\'s namespace.'),
            })
            .describe('The object the metric describes.'),
          metric: MetricIdentifierSchema,
          target: targetOf(['Value', 'AverageValue'], 'object'),
        })
        .describe('A metric describing another object in the namespace, e.g. requests per second on an Ingress.')
        .optional(),
      external: z
        .object({ metric: MetricIdentifierSchema, target: targetOf(['Value', 'AverageValue'], 'external') })
        .describe('A metric from outside the cluster objects, e.g. a queue length in Prometheus.')
        .optional(),
    })
    .describe('An autoscaling/v2 MetricSpec: set type and the one matching source field.'),
  [
    {
      rule:
        "(self.type == 'Resource') == has(self.resource) && (self.type == 'ContainerResource') == has(self.containerResource) && (self.type == 'Pods') == has(self.pods) && (self.type == 'Object') == has(self.object) && (self.type == 'External') == has(self.external)",
      message: 'spec.autoscaling.metrics[] must set exactly the source field named by type (resource, containerResource, pods, object or external)',
      holds: (self) => {
        const present = {
          Resource: self.resource !== undefined,
          ContainerResource: self.containerResource !== undefined,
          Pods: self.pods !== undefined,
          Object: self.object !== undefined,
          External: self.external !== undefined,
        };
        return Object.entries(present).every(([type, isSet]) => (type === self.type) === isSet);
      },
    },
  ],
);

export type MetricSpec = z.output<typeof MetricSpecSchema>;

const ScalingRulesSchema = z
  .object({
    stabilizationWindowSeconds: z
      .int()
      .min(0)
      .max(3600)
      .optional()
      .describe('Past recommendations considered before scaling in this direction (HPA default: 0 up, 300 down).'),
    selectPolicy: z
      .enum(['Max', 'Min', 'Disabled'])
      .optional()
      .describe('Which policy wins when several apply; Disabled turns scaling in this direction off.'),
    policies: z
      .array(
        z
          .object({
            type: z.enum(['Pods', 'Percent']).describe('Pods or Percent.'),
            value: z.int().min(1).max(MAX_REPLICAS).describe('Pods or percent allowed to change within periodSeconds.'),
            periodSeconds: z.int().min(1).max(1800).describe('Window the policy applies to, in seconds (at most 1800).'),
          })
          .describe('A limit on how fast to scale.'),
      )
      .min(1)
      .max(10)
      .optional()
      .describe('Rate limits for this direction; absent uses the HPA defaults.'),
  })
  .describe('Scaling rules for one direction, as in autoscaling/v2 HPAScalingRules.');

const BehaviorSchema = z
  .object({
    scaleUp: ScalingRulesSchema.optional(),
    scaleDown: ScalingRulesSchema.optional(),
  })
  .describe('HPA scaling behaviour (autoscaling/v2), e.g. a long scaleDown stabilisation window for slow-loading models.');

/** The keys of spec.autoscaling.target: CPU or one of the engine's own load signals. */
export const AUTOSCALING_SIGNALS = ['cpuUtilizationPercent', ...ENGINE_SIGNALS] as const;
export type AutoscalingSignal = (typeof AUTOSCALING_SIGNALS)[number];

const MAX_REQUESTS_PER_REPLICA = 1_000_000;

const TargetSchema = withRules(
  z
    .object({
      cpuUtilizationPercent: z
        .int()
        .min(1)
        .max(100)
        .optional()
        .describe(
          'Mean CPU use per replica, in percent of the model container\'s CPU request, through a HorizontalPodAutoscaler (needs the metrics.k8s.io API, e.g. metrics-server). Without a CPU request or limit it is measured against the operator\'s --default-cpu-request (1 CPU unless set): the HPA then targets that share of it per pod.',
        ),
      queueLength: z
        .int()
        .min(1)
        .max(MAX_REQUESTS_PER_REPLICA)
        .optional()
        .describe(
          'Requests waiting in the engine\'s queue per replica (vllm:num_requests_waiting, sglang:num_queue_reqs, llamacpp:requests_deferred, trtllm_num_requests_waiting, num_requests_waiting for NIM, tgi_queue_size): replicas = ceil(total waiting / queueLength). Scales through a KEDA ScaledObject on Prometheus.',
        ),
      runningRequests: z
        .int()
        .min(1)
        .max(MAX_REQUESTS_PER_REPLICA)
        .optional()
        .describe(
          'Requests the engine is running per replica (vllm:num_requests_running, sglang:num_running_reqs, llamacpp:requests_processing, trtllm_num_requests_running, num_requests_running for NIM, tgi_batch_current_size): replicas = ceil(total running / runningRequests). Scales through a KEDA ScaledObject on Prometheus.',
        ),
      kvCacheUtilizationPercent: z
        .int()
        .min(1)
        .max(100)
        .optional()
        .describe(
          'Mean KV-cache use per replica in percent (vllm:kv_cache_usage_perc, sglang:token_usage, trtllm_kv_cache_utilization, gpu_cache_usage_perc for NIM; llama.cpp and TGI have none): replicas = ceil(sum of the replicas\' use / kvCacheUtilizationPercent), as an HPA computes utilisation. Scales through a KEDA ScaledObject on Prometheus.',
        ),
    })
    .describe(
      'What the autoscaler keeps each replica at: set exactly one field. CPU scales through the operator\'s HorizontalPodAutoscaler; an engine signal through a KEDA ScaledObject (keda.sh/v1alpha1) whose Prometheus query the operator writes from the engine\'s gauge names. Absent: CPU at targetCPUUtilizationPercentage, or 80 when metrics is empty.',
    ),
  [
    {
      rule: `[${AUTOSCALING_SIGNALS.map((s) => `has(self.${s})`).join(', ')}].filter(x, x).size() == 1`,
      message: `spec.autoscaling.target must set exactly one of ${AUTOSCALING_SIGNALS.join(', ')}`,
      holds: (self) => AUTOSCALING_SIGNALS.filter((s) => self[s] !== undefined).length === 1,
    },
  ],
);

export type AutoscalingTarget = z.output<typeof TargetSchema>;

/** The engine signal a target names, if it names one. */
export function engineSignalOf(target: AutoscalingTarget | undefined): EngineSignal | undefined {
  return ENGINE_SIGNALS.find((signal) => target?.[signal] !== undefined);
}

const hasEngineSignal = `has(self.target) && !has(self.target.cpuUtilizationPercent)`;

/** Prometheus' own grammar for names; the operator writes them into PromQL unquoted. */
const PROMETHEUS_METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const PROMETHEUS_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const ScaleFromZeroSchema = z
  .object({
    metric: z
      .string()
      .min(1)
      .max(200)
      .regex(PROMETHEUS_METRIC_NAME)
      .describe(
        'Prometheus metric counting requests for this model held in front of it while no replica runs, e.g. a gateway\'s inference_extension_flow_control_queue_size (the Gateway API Inference Extension\'s Endpoint Picker with flow control). The model wakes while its sum over the matching series is above 0.',
      ),
    matchLabels: z
      .array(
        z
          .object({
            name: z.string().min(1).max(100).regex(PROMETHEUS_LABEL_NAME).describe('Label name, e.g. target_model_name.'),
            // Quoted into PromQL with escapes; control characters have no business in a label here.
            value: z.string().min(1).max(253).regex(/^[^\x00-\x1f\x7f]*$/).describe('Label value the series must have exactly, e.g. the model name the gateway routes to.'),
          })
          .describe('One label the series must carry.'),
      )
      .min(1)
      .max(8)
      .refine((labels) => new Set(labels.map((l) => l.name)).size === labels.length, { message: 'label names must be unique' })
      .meta({
        description:
          'Labels that pick this model\'s series out of the metric (all must match); at least one, so a model never wakes on requests queued for another model behind the same gateway.',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
  })
  .describe(
    'What brings a model at 0 replicas back (needed with minReplicas 0): a Prometheus metric of requests waiting for the model outside it, since with no replica running the engine reports no signal. The ScaledObject gets a second trigger that keeps at least one replica while the metric is above 0; the target scales beyond that. Something must hold the requests meanwhile (a gateway with a queue): a Service does not.',
  );

export type ScaleFromZero = z.output<typeof ScaleFromZeroSchema>;

export const AutoscalingSchema = withRules(
  z
    .object({
      minReplicas: z
        .int()
        .min(0)
        .max(MAX_REPLICAS)
        .default(1)
        .describe(
          'Fewest replicas the autoscaler keeps. Defaults to 1. 0 (scale to zero while the signal is 0) only with an engine-signal target and scaleFromZero; otherwise use spec.suspend to stop the model.',
        ),
      maxReplicas: z.int().min(1).max(MAX_REPLICAS).describe('Most replicas the autoscaler may create.'),
      target: TargetSchema.optional(),
      targetCPUUtilizationPercentage: z
        .int()
        .min(1)
        .max(100)
        .optional()
        .describe(
          'Target mean CPU use in percent of the CPU request; the older spelling of target.cpuUtilizationPercent (set one or the other). Defaults to 80 when neither target nor metrics is set; with metrics set, CPU is used only if a CPU target is set.',
        ),
      metrics: z
        .array(MetricSpecSchema)
        .max(10)
        .optional()
        .describe(
          'Extra autoscaling/v2 metrics for the operator\'s HorizontalPodAutoscaler, e.g. a Pods metric served by a custom metrics adapter; the HPA follows whichever asks for most replicas. Not with an engine-signal target.',
        ),
      behavior: BehaviorSchema.optional(),
      scaleFromZero: ScaleFromZeroSchema.optional(),
    })
    .describe(
      'Autoscale the model between minReplicas and maxReplicas: on CPU with a HorizontalPodAutoscaler named after the model, or on an engine signal (target) with a KEDA ScaledObject named after the model, whose HorizontalPodAutoscaler is keda-hpa-<model>. While set, the autoscaler owns the replica count and spec.replicas only has to lie within [minReplicas, maxReplicas] (it is the count the model runs at where KEDA is not installed).',
    ),
  [
    {
      rule: 'self.minReplicas <= self.maxReplicas',
      message: 'spec.autoscaling.minReplicas must be less than or equal to spec.autoscaling.maxReplicas',
      fieldPath: '.minReplicas',
      holds: (self) => self.minReplicas <= self.maxReplicas,
    },
    {
      rule: `self.minReplicas > 0 || (${hasEngineSignal})`,
      message:
        'spec.autoscaling.minReplicas may be 0 only with an engine-signal target (spec.autoscaling.target.queueLength, runningRequests or kvCacheUtilizationPercent): CPU use cannot bring back a model that has no pods',
      fieldPath: '.minReplicas',
      holds: (self) => self.minReplicas > 0 || engineSignalOf(self.target) !== undefined,
    },
    {
      rule: 'self.minReplicas > 0 || has(self.scaleFromZero)',
      message:
        'spec.autoscaling.minReplicas may be 0 only with spec.autoscaling.scaleFromZero: with no replica running the engine reports no signal, so name the metric of the requests waiting for the model in front of it (a gateway\'s queue), or the model never comes back',
      fieldPath: '.minReplicas',
      holds: (self) => self.minReplicas > 0 || self.scaleFromZero !== undefined,
    },
    {
      rule: '!has(self.scaleFromZero) || self.minReplicas == 0',
      message: 'spec.autoscaling.scaleFromZero applies only with spec.autoscaling.minReplicas: 0',
      fieldPath: '.scaleFromZero',
      holds: (self) => self.scaleFromZero === undefined || self.minReplicas === 0,
    },
    {
      rule: '!has(self.target) || !has(self.targetCPUUtilizationPercentage)',
      message: 'spec.autoscaling.targetCPUUtilizationPercentage and spec.autoscaling.target are mutually exclusive: use spec.autoscaling.target.cpuUtilizationPercent',
      fieldPath: '.targetCPUUtilizationPercentage',
      holds: (self) => self.target === undefined || self.targetCPUUtilizationPercentage === undefined,
    },
    {
      rule: `!(${hasEngineSignal}) || !has(self.metrics) || size(self.metrics) == 0`,
      message:
        'spec.autoscaling.metrics cannot be combined with an engine-signal target: the KEDA ScaledObject scales on the target alone (drop metrics, or use target.cpuUtilizationPercent with them)',
      fieldPath: '.metrics',
      holds: (self) => engineSignalOf(self.target) === undefined || (self.metrics ?? []).length === 0,
    },
  ],
);

export type Autoscaling = z.output<typeof AutoscalingSchema>;
