import { describe, expect, it } from 'vitest';
import { ApiError, isRefusal } from './errors.ts';

const error = (status: number, reason: string, message: string, path = '/apis/apps/v1/namespaces/ns/deployments/unit-converter') =>
  new ApiError('PATCH', path, status, { kind: 'Status', status: 'Failure', reason, message, code: status });

describe('isRefusal', () => {
  it('holds for objects the API server judged invalid or malformed', () => {
    expect(isRefusal(error(422, 'Invalid', 'Deployment.apps "x" is invalid: spec.template.spec.containers[0].image: Required value'))).toBe(true);
    expect(isRefusal(error(400, 'BadRequest', 'strict decoding error: unknown field "spec.foo"'))).toBe(true);
  });

  it('holds for a body server-side apply could not convert to its typed form', () => {
    expect(isRefusal(error(500, 'InternalError', 'failed to create typed patch object (apps/v1, Kind=Deployment): .spec.template.spec.affinity: expected map, got &{[]}'))).toBe(true);
    expect(isRefusal(error(500, 'InternalError', 'failed to create typed live object: .spec.replicas: expected numeric, got string'))).toBe(true);
    // What a status apply on an object stored under an older schema gets, with no reason in the body.
    const bare = new ApiError('PATCH', '/apis/ai.openai.com/v1/namespaces/ns/aimodels/m/status', 500, { message: 'failed to create manager for existing fields: failed to convert new object (ns/m; ai.openai.com/v1, Kind=AIModel) to smd typed: .spec.port: expected numeric, got string' });
    expect(bare.reason).toBe('HTTP500');
    expect(isRefusal(bare)).toBe(true);
  });

  it('does not read words from the request path: a 500 about a model named unit-converter is transient', () => {
    const err = error(500, 'InternalError', 'etcdserver: request timed out');
    expect(err.message).toContain('converter');
    expect(isRefusal(err)).toBe(false);
  });

  it('leaves timing and permission failures to the retrying queue', () => {
    for (const [status, reason] of [[409, 'Conflict'], [429, 'TooManyRequests'], [403, 'Forbidden'], [503, 'ServiceUnavailable'], [504, 'Timeout'], [0, 'TransportError']] as const) {
      expect(isRefusal(error(status, reason, `${reason} typed convert`)), `${status}`).toBe(false);
    }
    expect(isRefusal(new Error('422 Invalid'))).toBe(false);
  });
});
