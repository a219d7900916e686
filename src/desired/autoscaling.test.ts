import { describe, expect, it } from 'vitest';
import type { AIModelSpecInput } from '../api/v1/aimodel.ts';
import { ENGINE_EXPORTED_SIGNALS, ENGINES } from '../api/v1/engine.ts';
import { autoscalerFor, deciderHpaName, engineSignalQuery, scaleFromZeroQuery } from './autoscaling.ts';
import { desiredChildren } from './children.ts';
import { DEFAULT_OPERATOR_DEFAULTS, type OperatorDefaults } from './defaults.ts';
import { ENGINE_PRESETS } from './engines/index.ts';
import { aimodel } from './testing.ts';

const keda: OperatorDefaults = {
  ...DEFAULT_OPERATOR_DEFAULTS,
  scaledObjects: true,
  prometheusAddress: 'http://prometheus.monitoring.svc:9090',
  kedaPollingIntervalSeconds: 5,
  kedaCooldownPeriodSeconds: 30,
};
const children = (spec: Partial<AIModelSpecInput>, config: OperatorDefaults = keda, name?: string) => desiredChildren(aimodel(spec, name), config);
const gatewayQueue = (model: string) => ({
  metric: 'inference_extension_flow_control_queue_size',
  matchLabels: [
    { name: 'target_model_name', value: model },
    { name: 'inference_pool', value: 'models' },
  ],
});
const vllmQueue = (extra: Record<string, unknown> = {}) => ({
  engine: 'vllm' as const,
  replicas: 2,
  autoscaling: { minReplicas: 1, maxReplicas: 8, target: { queueLength: 5 }, ...extra },
});

describe('engine-signal targets', () => {
  it('scale through a ScaledObject on the Deployment, with the spec bounds and a summed Prometheus query, and no HPA of the operator', () => {
    const c = children(vllmQueue());
    expect(c.hpa).toBeUndefined();
    expect(c.deployment.spec).not.toHaveProperty('replicas');
    expect(c.scaledObject).toEqual({
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: expect.objectContaining({ name: 'gpt-4o-agent', namespace: 'models' }),
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'gpt-4o-agent' },
        minReplicaCount: 1,
        maxReplicaCount: 8,
        pollingInterval: 5,
        cooldownPeriod: 30,
        triggers: [
          {
            type: 'prometheus',
            name: 'engine-signal',
            metricType: 'AverageValue',
            metadata: {
              serverAddress: 'http://prometheus.monitoring.svc:9090',
              query: 'sum(vllm:num_requests_waiting{namespace="models",pod=~"gpt-4o-agent-[a-z0-9]+-[a-z0-9]+"})',
              threshold: '5',
            },
          },
        ],
      },
    });
    expect(deciderHpaName(aimodel(vllmQueue()), autoscalerFor(aimodel(vllmQueue()), keda))).toBe('keda-hpa-gpt-4o-agent');
  });

  it('read each engine\'s own gauge for each signal it exports', () => {
    const spec = (engine: string, target: Record<string, number>) => aimodel({ engine: engine as never, autoscaling: { minReplicas: 1, maxReplicas: 3, target } }, 'm');
    expect(engineSignalQuery(spec('sglang', { runningRequests: 16 }), 'runningRequests')).toBe('sum(sglang:num_running_reqs{namespace="models",pod=~"m-[a-z0-9]+-[a-z0-9]+"})');
    expect(engineSignalQuery(spec('llamacpp', { queueLength: 2 }), 'queueLength')).toBe('sum(llamacpp:requests_deferred{namespace="models",pod=~"m-[a-z0-9]+-[a-z0-9]+"})');
    expect(engineSignalQuery(spec('nim', { queueLength: 2 }), 'queueLength')).toBe('sum(num_requests_waiting{namespace="models",pod=~"m-[a-z0-9]+-[a-z0-9]+"})');
    expect(engineSignalQuery(spec('tgi', { runningRequests: 2 }), 'runningRequests')).toBe('sum(tgi_batch_current_size{namespace="models",pod=~"m-[a-z0-9]+-[a-z0-9]+"})');
  });

  it('put KV-cache use in percent, summed, so that replicas = ceil(sum of use / target) as for an HPA utilisation', () => {
    const c = children({ engine: 'trtllm', autoscaling: { minReplicas: 1, maxReplicas: 4, target: { kvCacheUtilizationPercent: 80 } } });
    const trigger = c.scaledObject!.spec.triggers[0]!;
    expect(trigger.metadata.query).toBe('100 * sum(trtllm_kv_cache_utilization{namespace="models",pod=~"gpt-4o-agent-[a-z0-9]+-[a-z0-9]+"})');
    expect(trigger.metadata.threshold).toBe('80');
    expect(trigger.metricType).toBe('AverageValue');
  });

  it('select only the pods of this model: model "a" does not match the pods of model "a-b"', () => {
    const query = engineSignalQuery(aimodel(vllmQueue(), 'a'), 'queueLength');
    const pattern = new RegExp(`^${/pod=~"([^"]+)"/.exec(query)![1]}$`);
    expect(pattern.test('a-7d9c8b6f5-x2k4q')).toBe(true);
    expect(pattern.test('a-b-7d9c8b6f5-x2k4q')).toBe(false);
    expect(pattern.test('a-7d9c8b6f5')).toBe(false);
  });

  it('go down to zero with minReplicas 0, and wake on scaleFromZero\'s metric through a second trigger that asks for one replica', () => {
    const c = children({ engine: 'vllm', autoscaling: { minReplicas: 0, maxReplicas: 3, target: { queueLength: 1 }, scaleFromZero: gatewayQueue('gpt-4o-agent') } });
    expect(c.scaledObject!.spec).toMatchObject({ minReplicaCount: 0, maxReplicaCount: 3 });
    expect(c.deployment.spec).not.toHaveProperty('replicas');
    expect(c.scaledObject!.spec.triggers.map((t) => t.name)).toEqual(['engine-signal', 'scale-from-zero']);
    expect(c.scaledObject!.spec.triggers[1]).toEqual({
      type: 'prometheus',
      name: 'scale-from-zero',
      metricType: 'AverageValue',
      metadata: {
        serverAddress: 'http://prometheus.monitoring.svc:9090',
        query: 'clamp_max(sum(inference_extension_flow_control_queue_size{target_model_name="gpt-4o-agent",inference_pool="models"}), 1)',
        threshold: '1',
      },
    });
    expect(autoscalerFor(aimodel({ engine: 'vllm', autoscaling: { minReplicas: 0, maxReplicas: 3, target: { queueLength: 1 }, scaleFromZero: gatewayQueue('m') } }), keda)).toMatchObject({
      kind: 'ScaledObject',
      wakesOn: 'inference_extension_flow_control_queue_size{target_model_name="m",inference_pool="models"}',
    });
  });

  it('quote label values into PromQL so that no value can end the string or add a selector', () => {
    const hostile = { metric: 'queue', matchLabels: [{ name: 'model', value: 'a"} or vector(1) or x{y="\\' }] };
    const query = scaleFromZeroQuery(hostile);
    expect(query).toBe('clamp_max(sum(queue{model="a\\"} or vector(1) or x{y=\\"\\\\"}), 1)');
    // Read back as Prometheus reads a Go-escaped string, the value is the user's, whole.
    const quoted = /model=("(?:[^"\\]|\\.)*")/.exec(query)![1]!;
    expect(JSON.parse(quoted)).toBe(hostile.matchLabels[0]!.value);
  });

  it('pass spec.autoscaling.behavior into the HPA KEDA makes', () => {
    const behavior = { scaleDown: { stabilizationWindowSeconds: 600, policies: [{ type: 'Pods' as const, value: 1, periodSeconds: 60 }] } };
    const c = children(vllmQueue({ behavior }));
    expect(c.scaledObject!.spec.advanced).toEqual({ horizontalPodAutoscalerConfig: { behavior } });
  });

  it('run at spec.replicas with no autoscaler, and say KEDA is missing, where ScaledObject is not served', () => {
    const config = { ...keda, scaledObjects: false };
    const c = children(vllmQueue({ minReplicas: 0, scaleFromZero: gatewayQueue('gpt-4o-agent') }), config);
    expect(c.scaledObject).toBeUndefined();
    expect(c.hpa).toBeUndefined();
    expect(c.deployment.spec.replicas).toBe(2);
    const choice = autoscalerFor(aimodel(vllmQueue()), config);
    expect(choice).toMatchObject({ kind: 'Unavailable', reason: 'KEDANotInstalled' });
    expect(choice.kind === 'Unavailable' && choice.message).toMatch(/keda\.sh\/v1alpha1 ScaledObject is not served.*install KEDA/);
    // Without spec.replicas: minReplicas, but never 0 (nothing would bring it back).
    expect(children({ engine: 'vllm', autoscaling: { minReplicas: 0, maxReplicas: 3, target: { queueLength: 1 }, scaleFromZero: gatewayQueue('gpt-4o-agent') } }, config).deployment.spec.replicas).toBe(1);
  });

  it('run at spec.replicas, and say so, when the operator has no Prometheus address', () => {
    const config = { ...keda, prometheusAddress: undefined };
    expect(children(vllmQueue(), config).scaledObject).toBeUndefined();
    expect(children(vllmQueue(), config).deployment.spec.replicas).toBe(2);
    expect(autoscalerFor(aimodel(vllmQueue()), config)).toMatchObject({ kind: 'Unavailable', reason: 'PrometheusAddressNotSet' });
  });

  it('make nothing while suspended', () => {
    const c = children({ ...vllmQueue(), suspend: true });
    expect(c.scaledObject).toBeUndefined();
    expect(c.deployment.spec.replicas).toBe(0);
  });
});

describe('CPU targets', () => {
  it('target.cpuUtilizationPercent makes the operator HPA on CPU, and no ScaledObject', () => {
    const c = children({ resources: { requests: { cpu: '4' } }, autoscaling: { minReplicas: 1, maxReplicas: 4, target: { cpuUtilizationPercent: 60 } } });
    expect(c.scaledObject).toBeUndefined();
    expect(c.hpa!.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } }]);
  });

  it('measure a model that requests no CPU against the default request, with an AverageValue that needs none on the pods', () => {
    const cpuMetric = (spec: Partial<AIModelSpecInput>, config: OperatorDefaults = keda) => children(spec, config).hpa!.spec.metrics![0]!.resource!.target;
    const bounds = { minReplicas: 1, maxReplicas: 4 };
    expect(cpuMetric({ autoscaling: bounds })).toEqual({ type: 'AverageValue', averageValue: '800m' });
    expect(cpuMetric({ autoscaling: { ...bounds, target: { cpuUtilizationPercent: 50 } } }, { ...keda, defaultCpuRequest: '250m' })).toEqual({ type: 'AverageValue', averageValue: '125m' });
    // With a request, or a limit Kubernetes takes the request from, utilisation can be computed.
    expect(cpuMetric({ autoscaling: bounds, resources: { requests: { cpu: '2' } } })).toEqual({ type: 'Utilization', averageUtilization: 80 });
    expect(cpuMetric({ autoscaling: bounds, resources: { limits: { cpu: '3' } } })).toEqual({ type: 'Utilization', averageUtilization: 80 });
    // The pods are the same with autoscaling or without: switching it on or off rolls nothing out.
    const template = (spec: Partial<AIModelSpecInput>) => children(spec).deployment.spec.template;
    expect(template({ replicas: 2, autoscaling: bounds })).toEqual(template({ replicas: 2 }));
    expect(template({ replicas: 2 }).spec!.containers[0]!.resources).toBeUndefined();
  });
});

describe('the signals each engine exports', () => {
  it('agree with the presets\' gauges', () => {
    for (const engine of ENGINES) {
      const gauges = ENGINE_PRESETS[engine].gauges;
      const exported = [gauges.queue && 'queueLength', gauges.running && 'runningRequests', gauges.kvCacheUsage && 'kvCacheUtilizationPercent'].filter(Boolean);
      expect(exported, engine).toEqual([...ENGINE_EXPORTED_SIGNALS[engine]]);
    }
  });
});
