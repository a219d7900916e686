import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { downloadingPod, rootCause } from './rootcause.ts';

const unschedulable = (name: string, message: string) => ({
  metadata: { name },
  status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }] },
});

const waiting = (name: string, reason: string, message = '') => ({
  metadata: { name },
  status: {
    phase: 'Pending',
    conditions: [{ type: 'PodScheduled', status: 'True' }],
    containerStatuses: [{ name: 'inference', image: 'img:1', ready: false, restartCount: 4, state: { waiting: { reason, message } }, lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }],
  },
});

describe('rootCause', () => {
  it('names a GPU shortage from the scheduler message', () => {
    const cause = rootCause([unschedulable('p1', '0/4 nodes are available: 2 Insufficient nvidia.com/gpu, 2 node(s) had untolerated taint.')]);
    expect(cause?.reason).toBe('InsufficientGPU');
    expect(cause?.message).toContain('Insufficient nvidia.com/gpu');
    expect(cause?.message).toContain('p1');
  });

  it.each([
    ['0/4 nodes are available: 4 Insufficient cpu.', 'InsufficientCPU'],
    ['0/4 nodes are available: 4 Insufficient memory.', 'InsufficientMemory'],
    ["0/4 nodes are available: 4 node(s) didn't match Pod's node affinity/selector.", 'Unschedulable'],
  ])('classifies %j as %s', (message, reason) => {
    expect(rootCause([unschedulable('p', message)])?.reason).toBe(reason);
  });

  it('names image pull failures, crash loops and create errors', () => {
    expect(rootCause([waiting('p', 'ImagePullBackOff', 'Back-off pulling image')])).toMatchObject({ reason: 'ImagePullFailed' });
    expect(rootCause([waiting('p', 'ErrImagePull')])).toMatchObject({ reason: 'ImagePullFailed' });
    expect(rootCause([waiting('p', 'CreateContainerConfigError', 'configmap "x" not found')])?.message).toContain('configmap "x" not found');
    const crash = rootCause([waiting('p', 'CrashLoopBackOff')]);
    expect(crash?.reason).toBe('CrashLoopBackOff');
    expect(crash?.message).toContain('restarted 4 times');
    expect(crash?.message).toContain('OOMKilled');
  });

  it('names failing probes of running containers', () => {
    const pod = {
      metadata: { name: 'p' },
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'False' }],
        containerStatuses: [{ name: 'inference', image: 'i', ready: false, restartCount: 0, state: { running: {} } }],
      },
    };
    expect(rootCause([pod])).toMatchObject({ reason: 'ProbeFailing' });
  });

  it('prefers the scheduling shortage and counts the pods showing it', () => {
    const cause = rootCause([
      waiting('a', 'CrashLoopBackOff'),
      unschedulable('b', '0/4 nodes are available: 4 Insufficient nvidia.com/gpu.'),
      unschedulable('c', '0/4 nodes are available: 4 Insufficient nvidia.com/gpu.'),
    ]);
    expect(cause).toMatchObject({ reason: 'InsufficientGPU', pods: 2 });
    expect(cause?.message).toContain('and 1 more pod');
  });

  it('names the same pod whatever order the cache lists the pods in', () => {
    const pods = ['m-7d9f-zz', 'm-7d9f-aa', 'm-7d9f-mm'].map((name) => unschedulable(name, '0/4 nodes are available: 4 Insufficient nvidia.com/gpu.'));
    fc.assert(
      fc.property(fc.shuffledSubarray(pods, { minLength: 3, maxLength: 3 }), (order) => {
        expect(rootCause(order)?.message).toBe(rootCause(pods)?.message);
        expect(rootCause(order)?.message).toContain('pod m-7d9f-aa ');
      }),
    );
  });

  it('finds nothing wrong with ready or terminating pods', () => {
    const ready = {
      metadata: { name: 'p' },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'c', image: 'i', ready: true, restartCount: 0, state: { running: {} } }] },
    };
    const terminating = { ...unschedulable('t', 'Insufficient cpu'), metadata: { name: 't', deletionTimestamp: '2026-01-01T00:00:00Z' } };
    expect(rootCause([ready, terminating])).toBeUndefined();
    expect(rootCause([])).toBeUndefined();
  });
});

describe('weights downloads', () => {
  const withDownload = (name: string, state: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    metadata: { name },
    status: {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'True' }],
      initContainerStatuses: [{ name: 'model-download', image: 'vllm/vllm-openai:v0.11.0', ready: false, restartCount: 2, state, ...extra }],
      containerStatuses: [{ name: 'inference', image: 'vllm/vllm-openai:v0.11.0', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } }],
    },
  });

  it('names a failed download as its own root cause, crash-looping or terminated', () => {
    const looping = withDownload('p1', { waiting: { reason: 'CrashLoopBackOff' } }, { lastState: { terminated: { exitCode: 1, reason: 'Error' } } });
    expect(rootCause([looping])).toMatchObject({ reason: 'DownloadFailed', message: 'pod p1 could not download the weights (container model-download: exit code 1, Error, 2 retries)' });
    expect(rootCause([withDownload('p2', { terminated: { exitCode: 2 } })])?.reason).toBe('DownloadFailed');
  });

  it('tells a pod that is downloading, which is no failure', () => {
    const pods = [withDownload('p-b', { running: {} }), withDownload('p-a', { running: {} })];
    expect(rootCause(pods)).toBeUndefined();
    expect(downloadingPod(pods)).toBe('p-a');
    expect(downloadingPod([withDownload('p', { terminated: { exitCode: 0 } })])).toBeUndefined();
  });
});
