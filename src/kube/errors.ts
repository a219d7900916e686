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
  /** The API server's own message, without the request line this error's message adds. */
  readonly serverMessage: string;
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
    this.serverMessage = body?.message ?? '';
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

/**
 * The API server refused the object itself, not the request's timing, so sending it again
 * cannot succeed until something else changes (the spec, a webhook, a policy): invalid (422) or
 * malformed (400), or a body server-side apply could not convert to its typed form, which it
 * reports as a 500 whose own message says so (junk in a schemaless field, an object stored under
 * an older schema; the body may carry no reason at all). Decided from the code, the reason and
 * the server's message only: the request path, which names the object, plays no part.
 */
export function isRefusal(err: unknown): err is ApiError {
  if (!(err instanceof ApiError)) return false;
  if (err.status === 400 || err.status === 422) return true;
  return err.status === 500 && /failed to (create typed|convert)|typed (patch|value|object)/i.test(err.serverMessage);
}
