import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { AIModelMetrics } from './metrics.ts';

type Model = { metadata: { namespace: string; name: string }; spec?: unknown; status?: unknown };

const notReady = {
  desiredReplicas: 5,
  readyReplicas: 3,
  availableReplicas: 3,
  conditions: [
    { type: 'Ready', status: 'False', reason: 'WaitingForReplicas', message: 'free text never becomes a label', lastTransitionTime: 't' },
    { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: '', lastTransitionTime: 't' },
  ],
};

function setUp(models: Model[]) {
  const registry = new Registry();
  const metrics = new AIModelMetrics(registry, { list: () => models });
  return { registry, metrics, models };
}

describe('AIModelMetrics', () => {
  it('exports replicas, bounds and one-hot conditions per model from its stored status', async () => {
    const { registry } = setUp([
      { metadata: { namespace: 'ns', name: 'm' }, spec: { autoscaling: { minReplicas: 2, maxReplicas: 20 } }, status: notReady },
    ]);
    const text = await registry.metrics();
    expect(text).toContain('aimodel_desired_replicas{namespace="ns",name="m"} 5');
    expect(text).toContain('aimodel_ready_replicas{namespace="ns",name="m"} 3');
    expect(text).toContain('aimodel_autoscaling_min_replicas{namespace="ns",name="m"} 2');
    expect(text).toContain('aimodel_autoscaling_max_replicas{namespace="ns",name="m"} 20');
    expect(text).toContain('aimodel_condition{namespace="ns",name="m",type="Ready",status="False"} 1');
    expect(text).toContain('aimodel_condition{namespace="ns",name="m",type="Ready",status="True"} 0');
    expect(text).toContain('aimodel_condition{namespace="ns",name="m",type="Ready",status="Unknown"} 0');
    expect(text).toContain('aimodel_condition{namespace="ns",name="m",type="Available",status="True"} 1');
    expect(text).not.toContain('type="Degraded"');
    expect(text).not.toContain('free text');
  });

  it('follows the cache: a deleted model has no series, a model no longer autoscaled no bounds', async () => {
    const { registry, models } = setUp([
      { metadata: { namespace: 'ns', name: 'gone' }, spec: { autoscaling: { minReplicas: 2, maxReplicas: 20 } }, status: notReady },
      { metadata: { namespace: 'ns', name: 'kept' }, spec: { autoscaling: { minReplicas: 1, maxReplicas: 3 } }, status: notReady },
    ]);
    expect(await registry.metrics()).toContain('name="gone"');
    models.splice(0, 2, { metadata: { namespace: 'ns', name: 'kept' }, spec: { replicas: 3 }, status: notReady });
    const text = await registry.metrics();
    expect(text).not.toContain('name="gone"');
    expect(text).toContain('aimodel_ready_replicas{namespace="ns",name="kept"} 3');
    expect(text).not.toMatch(/aimodel_autoscaling_\w+_replicas\{namespace="ns",name="kept"\}/);
  });

  it('reports a model with no or malformed status as zeros and no conditions, without throwing', async () => {
    const { registry } = setUp([
      { metadata: { namespace: 'ns', name: 'new' } },
      { metadata: { namespace: 'ns', name: 'junk' }, spec: { autoscaling: { maxReplicas: 'x' } }, status: { readyReplicas: 'three', conditions: 'none' } },
    ]);
    const text = await registry.metrics();
    expect(text).toContain('aimodel_desired_replicas{namespace="ns",name="new"} 0');
    expect(text).toContain('aimodel_ready_replicas{namespace="ns",name="junk"} 0');
    expect(text).not.toContain('aimodel_condition{');
    expect(text).not.toContain('aimodel_autoscaling_max_replicas{');
  });

  it('exports the autoscaling signal against its target, labelled with the signal, where status has them', async () => {
    const { registry } = setUp([
      { metadata: { namespace: 'ns', name: 'q' }, status: { ...notReady, autoscaling: { signal: 'queueLength', target: 5, current: 4.5 } } },
      { metadata: { namespace: 'ns', name: 'nokeda' }, status: { ...notReady, autoscaling: { signal: 'runningRequests', target: 16 } } },
      { metadata: { namespace: 'ns', name: 'junk' }, status: { ...notReady, autoscaling: { signal: 7, target: 'x', current: null } } },
    ]);
    const text = await registry.metrics();
    expect(text).toContain('aimodel_autoscaling_signal_current{namespace="ns",name="q",signal="queueLength"} 4.5');
    expect(text).toContain('aimodel_autoscaling_signal_target{namespace="ns",name="q",signal="queueLength"} 5');
    expect(text).toContain('aimodel_autoscaling_signal_target{namespace="ns",name="nokeda",signal="runningRequests"} 16');
    expect(text).not.toContain('aimodel_autoscaling_signal_current{namespace="ns",name="nokeda"');
    expect(text).not.toContain('name="junk",signal');
  });

  it('counts outcomes by reason', async () => {
    const { registry, metrics } = setUp([]);
    metrics.outcome('Ready');
    metrics.outcome('Ready');
    metrics.outcome('InvalidSpec');
    const text = await registry.metrics();
    expect(text).toContain('aimodel_reconcile_outcomes_total{reason="Ready"} 2');
    expect(text).toContain('aimodel_reconcile_outcomes_total{reason="InvalidSpec"} 1');
  });
});
