import { describe, expect, it } from 'vitest';
import { computeStatus } from './status.ts';
import type { StatusInputs } from './status.ts';

const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:05:00Z';

function inputs(overrides: Partial<StatusInputs> = {}): StatusInputs {
  return {
    generation: 3,
    suspended: false,
    autoscaling: false,
    specReplicas: 2,
    selector: 'app.kubernetes.io/instance=m',
    endpoint: 'http://m.ns.svc.cluster.local:8000',
    pods: [],
    now: T0,
    ...overrides,
  };
}

const rolledOut = (replicas: number) => ({
  metadata: { generation: 5 },
  spec: { replicas },
  status: {
    observedGeneration: 5,
    replicas,
    readyReplicas: replicas,
    updatedReplicas: replicas,
    availableReplicas: replicas,
    conditions: [
      { type: 'Available', status: 'True' },
      { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
    ],
  },
});

const cond = (status: ReturnType<typeof computeStatus>, type: string) => status.conditions?.find((c) => c.type === type);

describe('computeStatus', () => {
  it('is Ready when every desired replica is ready and rolled out', () => {
    const s = computeStatus(inputs({ deployment: rolledOut(2) }));
    expect(s).toMatchObject({ phase: 'Ready', observedGeneration: 3, replicas: 2, readyReplicas: 2, desiredReplicas: 2, endpoint: 'http://m.ns.svc.cluster.local:8000' });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'True', reason: 'ModelReady', observedGeneration: 3 });
    expect(cond(s, 'Available')?.status).toBe('True');
    expect(cond(s, 'Progressing')).toMatchObject({ status: 'False', reason: 'RolloutComplete' });
    expect(cond(s, 'Degraded')?.status).toBe('False');
    expect(cond(s, 'AutoscalingActive')).toMatchObject({ status: 'False', reason: 'AutoscalingDisabled' });
  });

  it('is never Ready for a Deployment whose controller has not seen the applied template', () => {
    // As the apply returns it: a new generation, the status still of the old one, all ready.
    const d = rolledOut(2);
    d.metadata.generation = 6;
    const s = computeStatus(inputs({ deployment: d }));
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'RollingOut', observedGeneration: 3 });
    expect(cond(s, 'Progressing')?.status).toBe('True');
    expect(s.phase).toBe('Progressing');
  });

  it('says RollingOut while old pods still serve and the new ones are not all updated', () => {
    const d = rolledOut(2);
    d.status.updatedReplicas = 1;
    d.status.replicas = 3;
    const s = computeStatus(inputs({ deployment: d }));
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'RollingOut', message: 'rolling out: 1 of 2 replicas updated' });
  });

  it('says the weights are downloading while an init container fetches them, and names a failed download', () => {
    const d = rolledOut(2);
    d.status.readyReplicas = 0;
    d.status.availableReplicas = 0;
    const pod = (state: Record<string, unknown>) => ({
      metadata: { name: 'm-1' },
      status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }], initContainerStatuses: [{ name: 'model-download', image: 'i', ready: false, restartCount: 0, state }] },
    });
    const loading = computeStatus(inputs({ deployment: d, pods: [pod({ running: {} })] }));
    expect(cond(loading, 'Ready')).toMatchObject({ status: 'False', reason: 'DownloadingWeights' });
    expect(cond(loading, 'Degraded')?.status).toBe('False');
    const failed = computeStatus(inputs({ deployment: d, pods: [pod({ terminated: { exitCode: 1, reason: 'Error' } })] }));
    expect(cond(failed, 'Ready')).toMatchObject({ status: 'False', reason: 'DownloadFailed' });
    expect(failed.phase).toBe('Degraded');
  });

  it('is Pending before the Deployment exists', () => {
    const s = computeStatus(inputs());
    expect(s.phase).toBe('Pending');
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'Creating' });
  });

  it('is Progressing while a rollout is under way', () => {
    const d = rolledOut(2);
    d.status.updatedReplicas = 1;
    d.status.readyReplicas = 1;
    const s = computeStatus(inputs({ deployment: d }));
    expect(s.phase).toBe('Progressing');
    expect(cond(s, 'Progressing')).toMatchObject({ status: 'True', reason: 'RollingOut' });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForReplicas' });
  });

  it('is not Ready while the Deployment controller has not seen the new generation', () => {
    const d = rolledOut(2);
    d.metadata.generation = 6;
    expect(computeStatus(inputs({ deployment: d })).phase).toBe('Progressing');
  });

  it('names a GPU shortage as the reason it is not Ready', () => {
    const d = rolledOut(1);
    Object.assign(d.status, { readyReplicas: 0, availableReplicas: 0, conditions: [{ type: 'Available', status: 'False' }] });
    const pod = { status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/4 nodes are available: 4 Insufficient nvidia.com/gpu.' }] } };
    const s = computeStatus(inputs({ specReplicas: 1, deployment: d, pods: [pod] }));
    expect(s.phase).toBe('Degraded');
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'InsufficientGPU' });
    expect(cond(s, 'Ready')?.message).toContain('nvidia.com/gpu');
    expect(cond(s, 'Degraded')).toMatchObject({ status: 'True', reason: 'InsufficientGPU' });
  });

  it('reports Suspended with zero desired replicas', () => {
    const s = computeStatus(inputs({ suspended: true, autoscaling: true, deployment: rolledOut(0) }));
    expect(s).toMatchObject({ phase: 'Suspended', desiredReplicas: 0 });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'Suspended' });
    expect(cond(s, 'AutoscalingActive')).toMatchObject({ status: 'False', reason: 'Suspended' });
  });

  it('takes desiredReplicas from the HPA under autoscaling', () => {
    const hpa = {
      spec: { minReplicas: 2, maxReplicas: 20 },
      status: {
        desiredReplicas: 7,
        conditions: [
          { type: 'ScalingActive', status: 'True', reason: 'ValidMetricFound' },
          { type: 'ScalingLimited', status: 'False' },
        ],
      },
    };
    const s = computeStatus(inputs({ autoscaling: true, deployment: rolledOut(7), hpa }));
    expect(s.desiredReplicas).toBe(7);
    expect(cond(s, 'AutoscalingActive')).toMatchObject({ status: 'True', reason: 'ScalingActive' });
    expect(cond(s, 'AutoscalingActive')?.message).toContain('between 2 and 20');
  });

  it('says why autoscaling is inactive', () => {
    const hpa = { spec: { maxReplicas: 3 }, status: { conditions: [{ type: 'ScalingActive', status: 'False', reason: 'FailedGetResourceMetric', message: 'no metrics' }] } };
    const s = computeStatus(inputs({ autoscaling: true, deployment: rolledOut(1), hpa }));
    expect(cond(s, 'AutoscalingActive')).toMatchObject({ status: 'False', reason: 'FailedGetResourceMetric', message: 'no metrics' });
  });

  it('reports an invalid spec with the field and the problem', () => {
    const s = computeStatus(inputs({ invalid: [{ field: 'spec.autoscaling.minReplicas', message: 'must be at most maxReplicas' }] }));
    expect(s.phase).toBe('Failed');
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(cond(s, 'Ready')?.message).toBe('spec.autoscaling.minReplicas: must be at most maxReplicas');
  });

  it('says why pods cannot be created when admission refuses them', () => {
    const d = rolledOut(1);
    Object.assign(d.status, {
      replicas: 0,
      readyReplicas: 0,
      availableReplicas: 0,
      updatedReplicas: 0,
      conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'pods "m-1" is forbidden: no PriorityClass with name gold was found' }],
    });
    const s = computeStatus(inputs({ specReplicas: 1, deployment: d }));
    expect(s.phase).toBe('Degraded');
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'PodCreateFailed' });
    expect(cond(s, 'Ready')?.message).toContain('no PriorityClass with name gold');
  });

  it('reports a child the API server refused', () => {
    const s = computeStatus(inputs({ deployment: rolledOut(2), childError: { reason: 'StorageClaimNotFound', message: 'PersistentVolumeClaim weights not found' } }));
    expect(s.phase).toBe('Degraded');
    expect(cond(s, 'Degraded')).toMatchObject({ status: 'True', reason: 'StorageClaimNotFound' });
  });

  it('keeps lastTransitionTime while a condition keeps its status', () => {
    const first = computeStatus(inputs({ deployment: rolledOut(2), now: T0 }));
    const again = computeStatus(inputs({ deployment: rolledOut(2), now: T1, previous: first }));
    expect(again).toEqual(first);
    const d = rolledOut(2);
    d.status.readyReplicas = 1;
    const changed = computeStatus(inputs({ deployment: d, now: T1, previous: first }));
    expect(cond(changed, 'Ready')?.lastTransitionTime).toBe(T1);
    expect(cond(changed, 'Degraded')?.lastTransitionTime).toBe(T0);
  });
});

describe('computeStatus of an autoscaled model', () => {
  const keda = { kind: 'ScaledObject' as const, name: 'm', hpaName: 'keda-hpa-m', signal: 'queueLength' as const, target: 5 };
  const so = (conditions: { type: string; status: string; reason?: string; message?: string }[]) => ({ spec: { minReplicaCount: 0, maxReplicaCount: 6 }, status: { conditions } });
  const soReady = so([
    { type: 'Ready', status: 'True', reason: 'ScaledObjectReady' },
    { type: 'Active', status: 'True', reason: 'ScalerActive' },
    { type: 'Fallback', status: 'False' },
  ]);
  const kedaHpa = {
    metadata: { name: 'keda-hpa-m' },
    spec: { minReplicas: 1, maxReplicas: 6 },
    status: {
      desiredReplicas: 4,
      currentMetrics: [{ type: 'External', external: { metric: { name: 's0-prometheus' }, current: { averageValue: '4500m' } } }],
      conditions: [{ type: 'ScalingActive', status: 'True', reason: 'ValidMetricFound' }],
    },
  };

  it('mirrors a ready, active ScaledObject and reports the signal per replica against its target', () => {
    const s = computeStatus(inputs({ autoscaling: true, autoscaler: keda, scaledObject: soReady, hpa: kedaHpa, deployment: rolledOut(4) }));
    expect(s.desiredReplicas).toBe(4);
    expect(cond(s, 'AutoscalingActive')).toMatchObject({ status: 'True', reason: 'ScalingActive' });
    expect(cond(s, 'AutoscalingActive')?.message).toContain('between 0 and 6 replicas on queueLength');
    expect(s.autoscaling).toEqual({ autoscaler: 'ScaledObject m (HorizontalPodAutoscaler keda-hpa-m)', signal: 'queueLength', target: 5, current: 4.5 });
  });

  it('is still active, idle, when KEDA scaled to zero, and then wants 0 replicas', () => {
    const idle = so([
      { type: 'Ready', status: 'True' },
      { type: 'Active', status: 'False', reason: 'ScalerNotActive' },
    ]);
    // KEDA went to zero by itself: its HPA still says what it last wanted, and a pod is still leaving.
    const zeroHpa = { ...kedaHpa, status: { desiredReplicas: 1, conditions: [{ type: 'ScalingActive', status: 'False', reason: 'ScalingDisabled', message: 'scaling is disabled since the replica count of the target is zero' }] } };
    const leaving = { ...rolledOut(1), spec: { replicas: 0 } };
    const s = computeStatus(inputs({ autoscaling: true, autoscaler: keda, scaledObject: idle, hpa: zeroHpa, deployment: leaving }));
    expect(cond(s, 'AutoscalingActive')).toMatchObject({ status: 'True', reason: 'Idle' });
    expect(s.desiredReplicas).toBe(0);
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'ScaledToZero' });
  });

  it('reports the engine signal, not the wake trigger, and says at zero what wakes the model', () => {
    const waking = { ...keda, wakesOn: 'queue_size{target_model_name="m"}' };
    // KEDA lists the scaleFromZero trigger (s1) beside the engine signal (s0), in no promised order.
    const both = {
      ...kedaHpa,
      status: {
        ...kedaHpa.status,
        currentMetrics: [
          { type: 'External', external: { metric: { name: 's1-prometheus' }, current: { averageValue: '1' } } },
          { type: 'External', external: { metric: { name: 's0-prometheus' }, current: { averageValue: '2' } } },
        ],
      },
    };
    expect(computeStatus(inputs({ autoscaling: true, autoscaler: waking, scaledObject: soReady, hpa: both, deployment: rolledOut(4) })).autoscaling?.current).toBe(2);
    const idle = so([{ type: 'Ready', status: 'True' }, { type: 'Active', status: 'False' }]);
    const atZero = computeStatus(inputs({ autoscaling: true, autoscaler: waking, scaledObject: idle, deployment: { ...rolledOut(0), spec: { replicas: 0 } } }));
    expect(cond(atZero, 'AutoscalingActive')).toMatchObject({ status: 'True', reason: 'Idle' });
    expect(cond(atZero, 'AutoscalingActive')?.message).toContain('it wakes when sum(queue_size{target_model_name="m"}) is above 0');
    const idleAtOne = computeStatus(inputs({ autoscaling: true, autoscaler: waking, scaledObject: idle, deployment: rolledOut(1) }));
    expect(cond(idleAtOne, 'AutoscalingActive')?.message).not.toContain('wakes');
  });

  it('says what KEDA says when the ScaledObject is not ready, falls back, or its HPA cannot read the metric', () => {
    const notReady = so([{ type: 'Ready', status: 'False', reason: 'ScaledObjectCheckFailed', message: 'Failed to ensure HPA is correctly created' }]);
    const a = computeStatus(inputs({ autoscaling: true, autoscaler: keda, scaledObject: notReady, deployment: rolledOut(2) }));
    expect(cond(a, 'AutoscalingActive')).toMatchObject({ status: 'False', reason: 'ScaledObjectCheckFailed', message: 'ScaledObject m: Failed to ensure HPA is correctly created' });
    const fallback = so([{ type: 'Ready', status: 'True' }, { type: 'Fallback', status: 'True', reason: 'FallbackExists', message: 'At least one trigger is falling back' }]);
    expect(cond(computeStatus(inputs({ autoscaling: true, autoscaler: keda, scaledObject: fallback, deployment: rolledOut(2) })), 'AutoscalingActive')).toMatchObject({ status: 'False', reason: 'FallbackExists' });
    const failing = { ...kedaHpa, status: { conditions: [{ type: 'ScalingActive', status: 'False', reason: 'FailedGetExternalMetric', message: 'unable to get external metric' }] } };
    const c = computeStatus(inputs({ autoscaling: true, autoscaler: keda, scaledObject: soReady, hpa: failing, deployment: rolledOut(2) }));
    expect(cond(c, 'AutoscalingActive')).toMatchObject({ status: 'False', reason: 'FailedGetExternalMetric', message: 'keda-hpa-m: unable to get external metric' });
    expect(cond(computeStatus(inputs({ autoscaling: true, autoscaler: keda, deployment: rolledOut(2) })), 'AutoscalingActive')).toMatchObject({ status: 'Unknown', reason: 'WaitingForScaledObject' });
    expect(cond(computeStatus(inputs({ autoscaling: true, autoscaler: keda, scaledObject: so([]), deployment: rolledOut(2) })), 'AutoscalingActive')).toMatchObject({ status: 'Unknown', reason: 'WaitingForKEDA' });
  });

  it('names what is missing when the cluster cannot run the autoscaler, and wants the fixed count', () => {
    const unavailable = { kind: 'Unavailable' as const, name: 'm', signal: 'queueLength' as const, target: 5, reason: 'KEDANotInstalled', message: 'install KEDA' };
    const s = computeStatus(inputs({ autoscaling: true, autoscaler: unavailable, specReplicas: 3, deployment: rolledOut(3) }));
    expect(cond(s, 'AutoscalingActive')).toMatchObject({ status: 'False', reason: 'KEDANotInstalled', message: 'install KEDA' });
    expect(s).toMatchObject({ desiredReplicas: 3, phase: 'Ready', autoscaling: { signal: 'queueLength', target: 5 } });
    expect(s.autoscaling?.current).toBeUndefined();
  });

  it('reports CPU utilisation from the operator HPA against its target', () => {
    const hpa = {
      metadata: { name: 'm' },
      spec: { minReplicas: 2, maxReplicas: 20 },
      status: {
        desiredReplicas: 3,
        currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 95, averageValue: '950m' } } }],
        conditions: [{ type: 'ScalingActive', status: 'True', reason: 'ValidMetricFound' }],
      },
    };
    const s = computeStatus(inputs({ autoscaling: true, autoscaler: { kind: 'HorizontalPodAutoscaler', name: 'm', hpaName: 'm', signal: 'cpuUtilizationPercent', target: 80 }, hpa, deployment: rolledOut(3) }));
    expect(s.autoscaling).toEqual({ autoscaler: 'HorizontalPodAutoscaler m', signal: 'cpuUtilizationPercent', target: 80, current: 95 });
  });

  it('reports CPU in percent of the default request when the HPA measures an AverageValue of it', () => {
    const hpa = {
      metadata: { name: 'm' },
      spec: { minReplicas: 2, maxReplicas: 20 },
      status: { currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageValue: '450m' } } }], conditions: [{ type: 'ScalingActive', status: 'True' }] },
    };
    const scaler = { kind: 'HorizontalPodAutoscaler' as const, name: 'm', signal: 'cpuUtilizationPercent' as const, target: 80, cpuBaseCores: 0.5 };
    expect(computeStatus(inputs({ autoscaling: true, autoscaler: scaler, hpa, deployment: rolledOut(2) })).autoscaling?.current).toBe(90);
  });
});
