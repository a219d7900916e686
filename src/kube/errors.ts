// Errors from the API server carry a metav1.Status; this keeps the parts a controller decides on.

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface Status {
  kind?: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; causes?: StatusCause[]; retryAfterSeconds?: number };
}

export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly causes: StatusCause[];
  /** From the Retry-After header or the Status details: how long the server asked us to wait. */
  readonly retryAfterMs: number | undefined;
  readonly method: string;
  readonly path: string;

  constructor(method: string, path: string, status: number, body: Status | undefined, retryAfterHeader?: string) {
    const reason = body?.reason ?? (status === 0 ? 'TransportError' : `HTTP${status}`);
    super(`${method} ${path}: ${status} ${reason}: ${body?.message ?? 'no message'}`);
    this.name = 'ApiError';
    this.method = method;
    this.path = path;
    this.status = status;
    this.reason = reason;
    this.causes = body?.details?.causes ?? [];
    const seconds = retryAfterHeader !== undefined ? Number(retryAfterHeader) : body?.details?.retryAfterSeconds;
    this.retryAfterMs = seconds !== undefined && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
  }
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError;
}

export const isNotFound = (err: unknown): boolean => isApiError(err) && err.status === 404;
export const isConflict = (err: unknown): boolean => isApiError(err) && err.status === 409;
export const isAlreadyExists = (err: unknown): boolean => isApiError(err) && err.status === 409 && err.reason === 'AlreadyExists';
export const isGone = (err: unknown): boolean => isApiError(err) && err.status === 410;
export const isInvalid = (err: unknown): boolean => isApiError(err) && err.status === 422;
export const isForbidden = (err: unknown): boolean => isApiError(err) && err.status === 403;
export const isTooManyRequests = (err: unknown): boolean => isApiError(err) && err.status === 429;
