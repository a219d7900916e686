// Per-model metrics, in the shape kube-state-metrics uses: one series per model and value, a
// one-hot gauge per condition status, and nothing unbounded (no messages) as a label. A deleted
// model's series are removed, so dashboards do not show ghosts.
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { conditionTypes } from './status.ts';
import type { ModelStatus } from './status.ts';

const statuses = ['True', 'False', 'Unknown'] as const;

export class AIModelMetrics {
  private readonly desired: Gauge<'namespace' | 'name'>;
  private readonly ready: Gauge<'namespace' | 'name'>;
  private readonly available: Gauge<'namespace' | 'name'>;
  private readonly minReplicas: Gauge<'namespace' | 'name'>;
  private readonly maxReplicas: Gauge<'namespace' | 'name'>;
  private readonly condition: Gauge<'namespace' | 'name' | 'type' | 'status'>;
  private readonly outcomes: Counter<'reason'>;

  constructor(registry: Registry) {
    const gauge = (name: string, help: string) => new Gauge({ name, help, labelNames: ['namespace', 'name'] as const, registers: [registry] });
    this.desired = gauge('aimodel_desired_replicas', 'Replicas the model should run: spec.replicas, or the HPA decision under autoscaling (0 when suspended).');
    this.ready = gauge('aimodel_ready_replicas', 'Ready replicas of the model.');
    this.available = gauge('aimodel_available_replicas', 'Available replicas of the model.');
    this.minReplicas = gauge('aimodel_autoscaling_min_replicas', 'spec.autoscaling.minReplicas of autoscaled models.');
    this.maxReplicas = gauge('aimodel_autoscaling_max_replicas', 'spec.autoscaling.maxReplicas of autoscaled models.');
    this.condition = new Gauge({
      name: 'aimodel_condition',
      help: 'Condition of a model: 1 for the current status of each condition type, 0 for the others.',
      labelNames: ['namespace', 'name', 'type', 'status'] as const,
      registers: [registry],
    });
    this.outcomes = new Counter({
      name: 'aimodel_reconcile_outcomes_total',
      help: 'Reconcile outcomes by reason (a bounded set: Ready, Progressing, InvalidSpec, InsufficientGPU, ...).',
      labelNames: ['reason'] as const,
      registers: [registry],
    });
  }

  observe(namespace: string, name: string, status: ModelStatus, autoscaling: { minReplicas: number; maxReplicas: number } | undefined): void {
    const labels = { namespace, name };
    this.desired.set(labels, status.desiredReplicas ?? 0);
    this.ready.set(labels, status.readyReplicas ?? 0);
    this.available.set(labels, status.availableReplicas ?? 0);
    if (autoscaling) {
      this.minReplicas.set(labels, autoscaling.minReplicas);
      this.maxReplicas.set(labels, autoscaling.maxReplicas);
    } else {
      this.minReplicas.remove(labels);
      this.maxReplicas.remove(labels);
    }
    for (const type of conditionTypes) {
      const current = status.conditions?.find((c) => c.type === type)?.status;
      for (const s of statuses) {
        if (current === undefined) this.condition.remove({ ...labels, type, status: s });
        else this.condition.set({ ...labels, type, status: s }, current === s ? 1 : 0);
      }
    }
  }

  outcome(reason: string): void {
    this.outcomes.inc({ reason });
  }

  forget(namespace: string, name: string): void {
    const labels = { namespace, name };
    for (const g of [this.desired, this.ready, this.available, this.minReplicas, this.maxReplicas]) g.remove(labels);
    for (const type of conditionTypes) for (const s of statuses) this.condition.remove({ ...labels, type, status: s });
  }
}
