// A small Kubernetes REST client over undici.
//
// Why not the generated clients of @kubernetes/client-node: they serialise typed bodies through
// a model map that silently drops unknown fields, pick JSON-patch for every patch unless told
// otherwise, and give no hook to count requests by code. The operator needs exactly five verbs
// (get, list, watch, apply, delete) plus status and create, each observable for metrics, so it
// owns that layer and borrows only KubeConfig (loading, contexts, in-cluster, auth) from client-node.
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiError, RequestTimeoutError } from './errors.ts';
import type { Status } from './errors.ts';
import { resourceFor, resourcePath } from './resources.ts';
import type { ResourceType } from './resources.ts';
import type { KubeObject, KubeList, WatchEvent } from './types.ts';

export interface RequestRecord {
  method: string;
  host: string;
  /** HTTP status, or 0 when the request never got an answer. */
  code: number;
  durationSeconds: number;
  path: string;
  /** True for requests that change state (anything but GET and watch). */
  write: boolean;
}

export type RequestObserver = (record: RequestRecord) => void;

export interface ClientOptions {
  userAgent?: string;
  /** Client-side token bucket, like client-go's QPS/Burst; 0 disables it. */
  qps?: number;
  burst?: number;
  observers?: RequestObserver[];
  /** How often a request refused with 429 is retried after Retry-After (client-go: 10). */
  maxThrottleRetries?: number;
  /**
   * How long one request may take, from sending it to the end of its response body, before it
   * fails with a RequestTimeoutError (default 30 s; 0 waits forever). Each 429 retry gets its own.
   * Watches are exempt: they end by their server-side timeoutSeconds, and the informer's watchdog
   * catches a stream that goes silent.
   */
  requestTimeoutMs?: number;
}

/** The default of ClientOptions.requestTimeoutMs. */
export const defaultRequestTimeoutMs = 30_000;

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  signal?: AbortSignal;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  /**
   * Stream the current state first (ADDED events, then a bookmark annotated
   * k8s.io/initial-events-end), instead of listing it: the API server's WatchList.
   */
  sendInitialEvents?: boolean;
  signal?: AbortSignal;
  /** Called once the server has accepted the watch, before any event arrives. */
  onOpen?: () => void;
}

export interface ApplyOptions {
  fieldManager: string;
  force?: boolean;
  dryRun?: boolean;
  subresource?: 'status' | 'scale';
  signal?: AbortSignal;
}

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
  signal?: AbortSignal;
}

interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal | undefined;
}

/**
 * A response body as text, decoded chunk by chunk. undici's body.text() first copies all chunks
 * into one buffer: for a page of 500 Deployments a 4 MB malloc, after whose release glibc raises
 * its mmap threshold and serves later allocations from a heap that fragments and never shrinks
 * (tens of MB of RSS after a start-up over thousands of objects). Joined strings stay in V8's
 * heap, and JSON.parse reads them as they are.
 */
export async function readText(body: AsyncIterable<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of body) text += decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}

/** Token bucket that makes callers wait rather than fail, as client-go's flowcontrol does. */
class TokenBucket {
  private tokens: number;
  private last = performance.now();
  private readonly qps: number;
  private readonly burst: number;
  constructor(qps: number, burst: number) {
    this.qps = qps;
    this.burst = burst;
    this.tokens = burst;
  }
  async take(): Promise<void> {
    for (;;) {
      const now = performance.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.ceil(((1 - this.tokens) / this.qps) * 1000)));
    }
  }
}

/** Waits ms, or less if the signal aborts first; leaves no listener on the signal either way. */
function waitUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A signal that aborts when the caller's does or when ms have passed, whichever is first. clear()
 * stops the timer and detaches from the caller's signal, which may live far longer (an informer's).
 */
class Deadline {
  readonly signal: AbortSignal;
  expired = false;
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout>;
  readonly #parent: AbortSignal | undefined;
  readonly #onParentAbort = (): void => this.#controller.abort(this.#parent?.reason);

  constructor(ms: number, parent: AbortSignal | undefined) {
    this.signal = this.#controller.signal;
    this.#parent = parent;
    this.#timer = setTimeout(() => {
      this.expired = true;
      this.#controller.abort(new Error(`no complete response within ${ms} ms`));
    }, ms);
    if (parent?.aborted) this.#onParentAbort();
    else parent?.addEventListener('abort', this.#onParentAbort, { once: true });
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#parent?.removeEventListener('abort', this.#onParentAbort);
  }
}

export class KubeClient {
  readonly server: URL;
  readonly host: string;
  private readonly dispatcher: Dispatcher;
  private readonly authHeaders: () => Promise<Record<string, string>>;
  private readonly userAgent: string;
  private readonly bucket: TokenBucket | undefined;
  private readonly observers: RequestObserver[];
  private readonly maxThrottleRetries: number;
  private readonly requestTimeoutMs: number;

  private constructor(
    server: URL,
    dispatcher: Dispatcher,
    authHeaders: () => Promise<Record<string, string>>,
    options: ClientOptions,
  ) {
    this.server = server;
    this.host = server.host;
    this.dispatcher = dispatcher;
    this.authHeaders = authHeaders;
    this.userAgent = options.userAgent ?? 'aimodel-operator';
    this.bucket = options.qps && options.qps > 0 ? new TokenBucket(options.qps, Math.max(1, options.burst ?? options.qps)) : undefined;
    this.observers = options.observers ?? [];
    this.maxThrottleRetries = options.maxThrottleRetries ?? 10;
    this.requestTimeoutMs = options.requestTimeoutMs ?? defaultRequestTimeoutMs;
  }

  static async fromKubeConfig(kc: KubeConfig, options: ClientOptions = {}): Promise<KubeClient> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error(`kubeconfig context "${kc.getCurrentContext()}" names no cluster`);
    const tls: { ca?: unknown; cert?: unknown; key?: unknown; rejectUnauthorized?: boolean; headers?: Record<string, string> } = {};
    await kc.applyToHTTPSOptions(tls as never);
    const dispatcher = new Agent({
      connect: {
        ...(tls.ca ? { ca: tls.ca as string } : {}),
        ...(tls.cert ? { cert: tls.cert as string } : {}),
        ...(tls.key ? { key: tls.key as string } : {}),
        rejectUnauthorized: tls.rejectUnauthorized ?? true,
      },
      keepAliveTimeout: 30_000,
      // Watches are long-lived streams: the informer's own watchdog decides when one is stale.
      bodyTimeout: 0,
      headersTimeout: 60_000,
    });
    // Tokens can rotate (in-cluster projected tokens, exec plugins): ask the KubeConfig each time,
    // but not more often than every 10 s.
    let cached: { at: number; headers: Record<string, string> } | undefined;
    const authHeaders = async (): Promise<Record<string, string>> => {
      if (cached && Date.now() - cached.at < 10_000) return cached.headers;
      const opts: { headers: Record<string, string> } = { headers: {} };
      await kc.applyToHTTPSOptions(opts as never);
      cached = { at: Date.now(), headers: opts.headers };
      return opts.headers;
    };
    return new KubeClient(new URL(cluster.server), dispatcher, authHeaders, options);
  }

  addObserver(observer: RequestObserver): void {
    this.observers.push(observer);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private url(spec: RequestSpec): URL {
    const url = new URL(spec.path, this.server);
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
    }
    return url;
  }

  private observe(method: string, path: string, code: number, started: number, write: boolean): void {
    const record: RequestRecord = {
      method,
      host: this.host,
      code,
      durationSeconds: (performance.now() - started) / 1000,
      path,
      write,
    };
    for (const observer of this.observers) observer(record);
  }

  /**
   * Sends a request and reads its response with `read`; a 429 (the API server shedding load,
   * whose request was not processed) is retried here after the Retry-After the server asked for,
   * up to maxThrottleRetries times, as client-go does, so throttling neither fails reconciles nor
   * drops Events. Each attempt, its response body included, must end within timeoutMs (0: no limit).
   */
  private async send<R>(spec: RequestSpec, read: (response: Dispatcher.ResponseData) => Promise<R>, timeoutMs = this.requestTimeoutMs): Promise<R> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.sendOnce(spec, read, timeoutMs);
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 429) || attempt >= this.maxThrottleRetries || spec.signal?.aborted) throw err;
        await waitUnlessAborted(Math.min(err.retryAfterMs ?? 1000, 30_000), spec.signal);
        if (spec.signal?.aborted) throw err;
      }
    }
  }

  private async sendOnce<R>(spec: RequestSpec, read: (response: Dispatcher.ResponseData) => Promise<R>, timeoutMs: number): Promise<R> {
    if (this.bucket) await this.bucket.take();
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.userAgent,
      ...(await this.authHeaders()),
    };
    let body: string | undefined;
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      headers['content-type'] = spec.contentType ?? 'application/json';
    }
    // The deadline covers the exchange with the API server, not the wait for a client-side token.
    const deadline = timeoutMs > 0 ? new Deadline(timeoutMs, spec.signal) : undefined;
    const signal = deadline?.signal ?? spec.signal;
    const started = performance.now();
    const write = spec.method !== 'GET';
    try {
      let response: Dispatcher.ResponseData;
      try {
        response = await request(this.url(spec), {
          method: spec.method,
          headers,
          body,
          dispatcher: this.dispatcher,
          signal,
        });
      } catch (err) {
        this.observe(spec.method, spec.path, 0, started, write);
        if (deadline?.expired || (err as Error).name === 'AbortError' || spec.signal?.aborted) throw err;
        const apiErr = new ApiError(spec.method, spec.path, 0, { message: (err as Error).message });
        throw Object.assign(apiErr, { cause: err });
      }
      this.observe(spec.method, spec.path, response.statusCode, started, write);
      if (response.statusCode >= 400) {
        const text = await response.body.text().catch((err: unknown) => {
          if (deadline?.expired) throw err;
          return '';
        });
        let status: Status | undefined;
        try {
          status = JSON.parse(text) as Status;
        } catch {
          status = { message: text.slice(0, 500) };
        }
        const retryAfter = response.headers['retry-after'];
        throw new ApiError(spec.method, spec.path, response.statusCode, status, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
      }
      if (response.statusCode === 204) await response.body.dump();
      return await read(response);
    } catch (err) {
      throw deadline?.expired ? new RequestTimeoutError(spec.method, spec.path, timeoutMs, err) : err;
    } finally {
      deadline?.clear();
    }
  }

  /** Any request, answered with its parsed JSON body. */
  async request<T>(spec: RequestSpec): Promise<T> {
    return this.send(spec, async (response) => {
      const text = await readText(response.body);
      // Health endpoints such as /readyz answer in plain text.
      const json = String(response.headers['content-type'] ?? '').includes('json');
      return (text && json ? JSON.parse(text) : text || undefined) as T;
    });
  }

  async get<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>({ method: 'GET', path: resourcePath(type, namespace, name), signal });
  }

  /** Like get, but undefined instead of a 404. */
  async find<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string, signal?: AbortSignal): Promise<T | undefined> {
    try {
      return await this.get<T>(type, namespace, name, signal);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  async list<T extends KubeObject>(type: ResourceType, options: ListOptions = {}): Promise<KubeList<T>> {
    return this.request<KubeList<T>>({
      method: 'GET',
      path: resourcePath(type, options.namespace),
      query: {
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        limit: options.limit,
        continue: options.continue,
        resourceVersion: options.resourceVersion,
      },
      signal: options.signal,
    });
  }

  /** Every page of a list. */
  async listAll<T extends KubeObject>(type: ResourceType, options: ListOptions = {}): Promise<T[]> {
    const items: T[] = [];
    let token: string | undefined;
    do {
      const page: KubeList<T> = await this.list<T>(type, { limit: 500, ...options, continue: token });
      items.push(...page.items);
      token = page.metadata?.continue || undefined;
    } while (token);
    return items;
  }

  /**
   * Streams watch events to onEvent until the server closes the stream (resolves) or the
   * request fails (rejects with an ApiError; a 410 means the resourceVersion is too old).
   */
  async watch<T extends KubeObject>(type: ResourceType, options: WatchOptions, onEvent: (event: WatchEvent<T>) => void): Promise<void> {
    const response = await this.send(
      {
        method: 'GET',
        path: resourcePath(type, options.namespace),
        query: {
          watch: true,
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          resourceVersion: options.resourceVersion,
          allowWatchBookmarks: options.allowWatchBookmarks ?? true,
          timeoutSeconds: options.timeoutSeconds,
          sendInitialEvents: options.sendInitialEvents || undefined,
          resourceVersionMatch: options.sendInitialEvents ? 'NotOlderThan' : undefined,
        },
        signal: options.signal,
      },
      async (opened) => opened,
      0,
    );
    options.onOpen?.();
    let buffered = '';
    response.body.setEncoding('utf8');
    try {
      for await (const chunk of response.body as AsyncIterable<string>) {
        buffered += chunk;
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line) onEvent(JSON.parse(line) as WatchEvent<T>);
        }
      }
    } catch (err) {
      if (options.signal?.aborted) return;
      throw err;
    }
  }

  async create<T extends KubeObject>(obj: T, options: { dryRun?: boolean; fieldManager?: string; signal?: AbortSignal } = {}): Promise<T> {
    const type = resourceFor(obj.apiVersion!, obj.kind!);
    return this.request<T>({
      method: 'POST',
      path: resourcePath(type, obj.metadata.namespace),
      query: { dryRun: options.dryRun ? 'All' : undefined, fieldManager: options.fieldManager, fieldValidation: 'Strict' },
      body: obj,
      signal: options.signal,
    });
  }

  /** PUT of the whole object (optimistic concurrency through metadata.resourceVersion). */
  async update<T extends KubeObject>(obj: T, options: { subresource?: string; signal?: AbortSignal } = {}): Promise<T> {
    const type = resourceFor(obj.apiVersion!, obj.kind!);
    return this.request<T>({
      method: 'PUT',
      path: resourcePath(type, obj.metadata.namespace, obj.metadata.name, options.subresource),
      body: obj,
      signal: options.signal,
    });
  }

  /** Server-side apply: the object is the full intent of this field manager. */
  async apply<T extends KubeObject>(obj: T, options: ApplyOptions): Promise<T> {
    const type = resourceFor(obj.apiVersion!, obj.kind!);
    return this.request<T>({
      method: 'PATCH',
      path: resourcePath(type, obj.metadata.namespace, obj.metadata.name, options.subresource),
      query: {
        fieldManager: options.fieldManager,
        force: options.force ?? true,
        dryRun: options.dryRun ? 'All' : undefined,
        fieldValidation: 'Strict',
      },
      body: obj,
      contentType: 'application/apply-patch+yaml',
      signal: options.signal,
    });
  }

  async patch<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    options: { kind: 'merge' | 'json' | 'strategic'; subresource?: string; fieldManager?: string; signal?: AbortSignal },
  ): Promise<T> {
    const contentType = {
      merge: 'application/merge-patch+json',
      json: 'application/json-patch+json',
      strategic: 'application/strategic-merge-patch+json',
    }[options.kind];
    return this.request<T>({
      method: 'PATCH',
      path: resourcePath(type, namespace, name, options.subresource),
      query: { fieldManager: options.fieldManager },
      body,
      contentType,
      signal: options.signal,
    });
  }

  /** Deletes an object; false when it was already gone. */
  async delete(type: ResourceType, namespace: string | undefined, name: string, options: DeleteOptions = {}): Promise<boolean> {
    try {
      await this.request<unknown>({
        method: 'DELETE',
        path: resourcePath(type, namespace, name),
        query: { dryRun: options.dryRun ? 'All' : undefined },
        body: {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          ...(options.propagationPolicy ? { propagationPolicy: options.propagationPolicy } : {}),
          ...(options.preconditions ? { preconditions: options.preconditions } : {}),
        },
        signal: options.signal,
      });
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return false;
      throw err;
    }
  }
}
