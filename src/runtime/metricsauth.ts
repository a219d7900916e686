// Authentication and authorization of metrics scrapes, as controller-runtime's
// filters.WithAuthenticationAndAuthorization does: the bearer token is checked with a TokenReview
// and the caller's right to GET the path with a SubjectAccessReview for the non-resource URL, so
// who may read /metrics is RBAC (`nonResourceURLs: ["/metrics"], verbs: ["get"]`), like every
// other Kubernetes endpoint. Decisions are cached with controller-runtime's lifetimes (token 1
// minute, allow 5 minutes, deny 30 seconds), so a scrape every 15 s costs no API requests once
// warm. Failed reviews are not cached.
//
// One deliberate difference: controller-runtime answers 500 to a token the API server rejects
// (the apiserver bearer-token authenticator reports it as an error); here it is 401, as the API
// server itself and kube-rbac-proxy answer. 500 remains for reviews that could not be made.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Clock } from './clock.ts';

export interface UserInfo {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** The two API calls the filter needs; bound to the API server in src/kube/adapters.ts. */
export interface AccessReviewer {
  /** TokenReview: the token's user, or undefined when the API server does not accept it. */
  authenticate(token: string): Promise<UserInfo | undefined>;
  /** SubjectAccessReview of a non-resource URL. */
  authorize(user: UserInfo, request: { verb: string; path: string }): Promise<{ allowed: boolean; reason?: string }>;
}

export type AuthDecision =
  | { ok: true; user: UserInfo }
  | { ok: false; status: 401 | 403 | 500; message: string; cause?: unknown };

export interface MetricsAuthOptions {
  reviewer: AccessReviewer;
  clock: Clock;
  /** Lifetime of a TokenReview answer, accepted or not (controller-runtime: 1 minute). */
  authenticationTtlMs?: number;
  /** Lifetime of an allowing SubjectAccessReview (5 minutes). */
  allowTtlMs?: number;
  /** Lifetime of a denying SubjectAccessReview (30 seconds). */
  denyTtlMs?: number;
  /** Entries per cache; the oldest goes first, so random tokens cannot grow memory without bound. */
  maxEntries?: number;
}

class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  private readonly clock: Clock;
  private readonly maxEntries: number;
  constructor(clock: Clock, maxEntries: number) {
    this.clock = clock;
    this.maxEntries = maxEntries;
  }
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= this.clock.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }
  set(key: string, value: V, ttlMs: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, expires: this.clock.now() + ttlMs });
  }
  get size(): number {
    return this.entries.size;
  }
}

/** The token of an `Authorization: Bearer <token>` header, as the API server parses it. */
export function bearerToken(header: string | undefined): string | undefined {
  const parts = (header ?? '').trim().split(' ');
  if (parts.length < 2 || parts[0]!.toLowerCase() !== 'bearer' || !parts[1]) return undefined;
  return parts[1];
}

export class MetricsAuthFilter {
  private readonly reviewer: AccessReviewer;
  private readonly authenticationTtlMs: number;
  private readonly allowTtlMs: number;
  private readonly denyTtlMs: number;
  private readonly users: TtlCache<UserInfo | null>;
  private readonly decisions: TtlCache<{ allowed: boolean; reason?: string }>;
  // Concurrent scrapes with one token share one review instead of sending one each.
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(opts: MetricsAuthOptions) {
    this.reviewer = opts.reviewer;
    this.authenticationTtlMs = opts.authenticationTtlMs ?? 60_000;
    this.allowTtlMs = opts.allowTtlMs ?? 300_000;
    this.denyTtlMs = opts.denyTtlMs ?? 30_000;
    this.users = new TtlCache(opts.clock, opts.maxEntries ?? 1024);
    this.decisions = new TtlCache(opts.clock, opts.maxEntries ?? 1024);
  }

  private once<T>(key: string, make: () => Promise<T>): Promise<T> {
    let p = this.pending.get(key) as Promise<T> | undefined;
    if (!p) {
      p = make().finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  async check(req: Pick<IncomingMessage, 'headers' | 'method' | 'url'>): Promise<AuthDecision> {
    const token = bearerToken(req.headers.authorization);
    if (!token) return { ok: false, status: 401, message: 'Unauthorized' };

    // Keyed by a hash: the cache need not hold the tokens themselves.
    const tokenKey = createHash('sha256').update(token).digest('hex');
    let user = this.users.get(tokenKey);
    if (user === undefined) {
      try {
        user = await this.once(`authn/${tokenKey}`, async () => {
          const reviewed = (await this.reviewer.authenticate(token)) ?? null;
          this.users.set(tokenKey, reviewed, this.authenticationTtlMs);
          return reviewed;
        });
      } catch (cause) {
        return { ok: false, status: 500, message: 'Authentication failed', cause };
      }
    }
    if (!user) return { ok: false, status: 401, message: 'Unauthorized' };

    const request = { verb: (req.method ?? 'GET').toLowerCase(), path: new URL(req.url ?? '/', 'http://metrics').pathname };
    const decisionKey = JSON.stringify([user.username, user.uid ?? '', [...(user.groups ?? [])].sort(), user.extra ?? {}, request.verb, request.path]);
    let decision = this.decisions.get(decisionKey);
    if (!decision) {
      const reviewedUser = user;
      try {
        decision = await this.once(`authz/${decisionKey}`, async () => {
          const reviewed = await this.reviewer.authorize(reviewedUser, request);
          this.decisions.set(decisionKey, reviewed, reviewed.allowed ? this.allowTtlMs : this.denyTtlMs);
          return reviewed;
        });
      } catch (cause) {
        return { ok: false, status: 500, message: `Authorization for user ${user.username} failed`, cause };
      }
    }
    if (!decision.allowed) return { ok: false, status: 403, message: `Authorization denied for user ${user.username}` };
    return { ok: true, user };
  }
}
