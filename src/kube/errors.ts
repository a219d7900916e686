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

/** The API server did not answer a request completely within the client's request timeout. */
export class RequestTimeoutError extends ApiError {
  readonly timeoutMs: number;
  constructor(method: string, path: string, timeoutMs: number, cause: unknown) {
    super(method, path, 0, { reason: 'Timeout', message: `no complete response within the client's request timeout of ${timeoutMs} ms` });
    this.name = 'RequestTimeoutError';
    this.timeoutMs = timeoutMs;
    this.cause = cause;
  }
}

export const isNotFound = (err: unknown): boolean => err instanceof ApiError && err.status === 404;
