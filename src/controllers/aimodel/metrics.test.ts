import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { AIModelMetrics } from './metrics.ts';
import type { ModelStatus } from './status.ts';

const status: ModelStatus = {
  desiredReplicas: 5,
  readyReplicas: 3,
  availableReplicas: 3,
  conditions: [
    { type: 'Ready', status: 'False', reason: 'WaitingForReplicas', message: 'free text never becomes a label', lastTransitionTime: 't' },
    { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: '', lastTransitionTime: 't' },
  ],
};

describe('AIModelMetrics', () => {
  it('exports replicas, bounds and one-hot conditions per model', async () => {
    const registry = new Registry();
    const metrics = new AIModelMetrics(registry);
    metrics.observe('ns', 'm', status, { minReplicas: 2, maxReplicas: 20 });
    const text = await registry.metrics();
    expect(text).toContain('aimodel_desired_replicas{namespace="ns",name="m"} 5');
    expect(text).toContain('aimodel_ready_replicas{namespace="ns",name="m"} 3');
    expect(text).toContain('aimodel_autoscaling_max_replicas{namespace="ns",name="m"} 20');
    expect(text).toContain('aimodel_condition{namespace="ns",name="m",type="Ready",status="False"} 1');
    expect(text).toContain('aimodel_condition{namespace="ns",name="m",type="Ready",status="True"} 0');
    expect(text).toContain('aimodel_condition{namespace="ns",name="m",type="Available",status="True"} 1');
    expect(text).not.toContain('free text');
  });

  it('removes every series of a deleted model and the bounds of a model no longer autoscaled', async () => {
    const registry = new Registry();
    const metrics = new AIModelMetrics(registry);
    metrics.observe('ns', 'gone', status, { minReplicas: 2, maxReplicas: 20 });
    metrics.observe('ns', 'kept', status, { minReplicas: 1, maxReplicas: 3 });
    metrics.observe('ns', 'kept', status, undefined);
    metrics.forget('ns', 'gone');
    const text = await registry.metrics();
    expect(text).not.toContain('name="gone"');
    expect(text).toContain('aimodel_ready_replicas{namespace="ns",name="kept"} 3');
    expect(text).not.toMatch(/aimodel_autoscaling_\w+_replicas\{namespace="ns",name="kept"\}/);
  });

  it('counts outcomes by reason', async () => {
    const registry = new Registry();
    const metrics = new AIModelMetrics(registry);
    metrics.outcome('Ready');
    metrics.outcome('Ready');
    metrics.outcome('InvalidSpec');
    const text = await registry.metrics();
    expect(text).toContain('aimodel_reconcile_outcomes_total{reason="Ready"} 2');
    expect(text).toContain('aimodel_reconcile_outcomes_total{reason="InvalidSpec"} 1');
  });
});
