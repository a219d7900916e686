// Per-model metrics, in the shape kube-state-metrics uses: one series per model and value, a
// one-hot gauge per condition status, and nothing unbounded (no messages) as a label.
//
// They are read from the models' stored status at scrape time rather than kept in gauges the
// reconciler sets: the status is the truth users see, a process that is not the leader exports
// the same values, a deleted model has no series, and 10,000 models cost no memory between
// scrapes (kept gauges held 20 series, about 4 KiB, per model).
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import { registerCollectedGauge } from '../../runtime/metrics.ts';
import type { Sample } from '../../runtime/metrics.ts';
import { conditionTypes } from './status.ts';

const statuses = ['True', 'False', 'Unknown'] as const;

/** What the metrics read of a cached AIModel; anything may be missing or of the wrong type. */
interface StoredModel {
  metadata: { namespace?: string; name: string };
  spec?: { autoscaling?: { minReplicas?: unknown; maxReplicas?: unknown } | null };
  status?: {
    desiredReplicas?: unknown;
    readyReplicas?: unknown;
    availableReplicas?: unknown;
    conditions?: unknown;
    autoscaling?: { signal?: unknown; current?: unknown; target?: unknown } | null;
  };
}

type ModelLabels = 'namespace' | 'name';

const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

export class AIModelMetrics {
  private readonly outcomes: Counter<'reason'>;

  constructor(registry: Registry, cache: { list(): readonly { metadata: { namespace?: string; name: string } }[] }) {
    const models = cache as { list(): readonly StoredModel[] };
    const perModel = (name: string, help: string, value: (m: StoredModel) => number | undefined) =>
      registerCollectedGauge<ModelLabels>(registry, {
        name,
        help,
        labelNames: ['namespace', 'name'],
        *collect() {
          for (const m of models.list()) {
            const v = value(m);
            if (v !== undefined) yield { labels: { namespace: m.metadata.namespace ?? '', name: m.metadata.name }, value: v };
          }
        },
      });
    const bound = (m: StoredModel, field: 'minReplicas' | 'maxReplicas') => {
      const v = m.spec?.autoscaling?.[field];
      return typeof v === 'number' ? v : undefined;
    };
    perModel(
      'aimodel_desired_replicas',
      'Replicas the model should run: spec.replicas, or the HPA decision under autoscaling (0 when suspended).',
      (m) => count(m.status?.desiredReplicas),
    );
    perModel('aimodel_ready_replicas', 'Ready replicas of the model.', (m) => count(m.status?.readyReplicas));
    perModel('aimodel_available_replicas', 'Available replicas of the model.', (m) => count(m.status?.availableReplicas));
    perModel('aimodel_autoscaling_min_replicas', 'spec.autoscaling.minReplicas of autoscaled models.', (m) => bound(m, 'minReplicas'));
    perModel('aimodel_autoscaling_max_replicas', 'spec.autoscaling.maxReplicas of autoscaled models.', (m) => bound(m, 'maxReplicas'));
    const signalGauge = (name: string, help: string, field: 'current' | 'target') =>
      registerCollectedGauge<ModelLabels | 'signal'>(registry, {
        name,
        help,
        labelNames: ['namespace', 'name', 'signal'],
        *collect() {
          for (const m of models.list()) {
            const autoscaling = m.status?.autoscaling;
            const value = autoscaling?.[field];
            if (typeof autoscaling?.signal !== 'string' || typeof value !== 'number' || !Number.isFinite(value)) continue;
            yield { labels: { namespace: m.metadata.namespace ?? '', name: m.metadata.name, signal: autoscaling.signal }, value };
          }
        },
      });
    signalGauge(
      'aimodel_autoscaling_signal_current',
      'Current value per replica of the signal the model autoscales on (status.autoscaling.current): CPU in percent of the request, requests waiting or running, or KV-cache use in percent.',
      'current',
    );
    signalGauge('aimodel_autoscaling_signal_target', 'Target per replica of the signal the model autoscales on (spec.autoscaling.target).', 'target');
    registerCollectedGauge<ModelLabels | 'type' | 'status'>(registry, {
      name: 'aimodel_condition',
      help: 'Condition of a model: 1 for the current status of each condition type, 0 for the others.',
      labelNames: ['namespace', 'name', 'type', 'status'],
      *collect(): Iterable<Sample<ModelLabels | 'type' | 'status'>> {
        for (const m of models.list()) {
          const conditions = Array.isArray(m.status?.conditions) ? (m.status.conditions as { type?: unknown; status?: unknown }[]) : [];
          for (const type of conditionTypes) {
            const current = conditions.find((c) => c?.type === type)?.status;
            if (typeof current !== 'string') continue;
            const namespace = m.metadata.namespace ?? '';
            for (const status of statuses) yield { labels: { namespace, name: m.metadata.name, type, status }, value: current === status ? 1 : 0 };
          }
        }
      },
    });
    this.outcomes = new Counter({
      name: 'aimodel_reconcile_outcomes_total',
      help: 'Reconcile outcomes by reason (a bounded set: Ready, Progressing, InvalidSpec, InsufficientGPU, ...).',
      labelNames: ['reason'] as const,
      registers: [registry],
    });
  }

  outcome(reason: string): void {
    this.outcomes.inc({ reason });
  }
}
