import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';
import { bearerToken, MetricsAuthFilter, type AccessReviewer, type UserInfo } from './metricsauth.ts';

/** A reviewer answering like the API server would, counting each review it is asked for. */
class FakeReviewer implements AccessReviewer {
  users = new Map<string, UserInfo>([
    ['reader-token', { username: 'system:serviceaccount:monitoring:prometheus', uid: 'u1', groups: ['system:serviceaccounts', 'system:authenticated'] }],
    ['stranger-token', { username: 'system:serviceaccount:default:stranger', groups: ['system:authenticated'] }],
  ]);
  allowed = new Set(['system:serviceaccount:monitoring:prometheus get /metrics']);
  tokenReviews: string[] = [];
  accessReviews: { user: UserInfo; verb: string; path: string }[] = [];
  failWith: Error | undefined;
  failAuthorizeWith: Error | undefined;
  /** Held reviews resolve only when released, to overlap concurrent scrapes. */
  hold: Promise<void> | undefined;

  async authenticate(token: string) {
    this.tokenReviews.push(token);
    await this.hold;
    if (this.failWith) throw this.failWith;
    return this.users.get(token);
  }
  async authorize(user: UserInfo, request: { verb: string; path: string }) {
    this.accessReviews.push({ user, ...request });
    await this.hold;
    if (this.failAuthorizeWith) throw this.failAuthorizeWith;
    return { allowed: this.allowed.has(`${user.username} ${request.verb} ${request.path}`) };
  }
}

const scrape = (token?: string, url = '/metrics', method = 'GET') => ({ method, url, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

function setup(opts: { maxEntries?: number } = {}) {
  const clock = new FakeClock();
  const reviewer = new FakeReviewer();
  return { clock, reviewer, filter: new MetricsAuthFilter({ reviewer, clock, ...opts }) };
}

describe('bearerToken', () => {
  it.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['  Bearer abc  ', 'abc'],
    ['Bearer', undefined],
    ['Bearer  abc', undefined], // two spaces: the API server sees an empty token too
    ['Basic dXNlcjpwYXNz', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%j gives %j', (header, token) => expect(bearerToken(header)).toBe(token));
});

describe('MetricsAuthFilter', () => {
  it('answers 401 without a token, without asking the API server', async () => {
    const { filter, reviewer } = setup();
    expect(await filter.check(scrape())).toMatchObject({ ok: false, status: 401 });
    expect(await filter.check({ method: 'GET', url: '/metrics', headers: { authorization: 'Basic dXNlcjpwYXNz' } })).toMatchObject({ ok: false, status: 401 });
    expect(reviewer.tokenReviews).toEqual([]);
  });

  it('answers 401 to a token the TokenReview rejects, and 403 to a user the SubjectAccessReview denies', async () => {
    const { filter, reviewer } = setup();
    expect(await filter.check(scrape('forged'))).toMatchObject({ ok: false, status: 401 });
    expect(reviewer.accessReviews).toEqual([]);
    expect(await filter.check(scrape('stranger-token'))).toEqual({ ok: false, status: 403, message: 'Authorization denied for user system:serviceaccount:default:stranger' });
    expect(await filter.check(scrape('reader-token'))).toMatchObject({ ok: true, user: { username: 'system:serviceaccount:monitoring:prometheus' } });
  });

  it('asks for the non-resource URL with the verb of the request and the whole user', async () => {
    const { filter, reviewer } = setup();
    await filter.check(scrape('reader-token', '/metrics?name[]=up'));
    await filter.check(scrape('reader-token', '/debug', 'POST'));
    expect(reviewer.accessReviews).toEqual([
      { user: reviewer.users.get('reader-token'), verb: 'get', path: '/metrics' },
      { user: reviewer.users.get('reader-token'), verb: 'post', path: '/debug' },
    ]);
    expect(await filter.check(scrape('reader-token', '/debug', 'POST'))).toMatchObject({ status: 403 });
  });

  it('caches decisions with controller-runtime lifetimes: a 15 s scrape costs one TokenReview a minute and one SubjectAccessReview per 5 minutes', async () => {
    const { filter, reviewer, clock } = setup();
    for (let t = 0; t < 300_000; t += 15_000) {
      expect(await filter.check(scrape('reader-token'))).toMatchObject({ ok: true });
      clock.advance(15_000);
    }
    // 20 scrapes over 5 minutes: token reviewed at 0, 60, 120, 180 and 240 s; access at 0 s only.
    expect(reviewer.tokenReviews).toHaveLength(5);
    expect(reviewer.accessReviews).toHaveLength(1);
    expect(await filter.check(scrape('reader-token'))).toMatchObject({ ok: true });
    expect(reviewer.accessReviews).toHaveLength(2);
  });

  it('remembers a rejected token for a minute and a denial for 30 seconds, so a grant takes effect within that', async () => {
    const { filter, reviewer, clock } = setup();
    await filter.check(scrape('forged'));
    await filter.check(scrape('forged'));
    expect(reviewer.tokenReviews).toEqual(['forged']);
    clock.advance(60_000);
    await filter.check(scrape('forged'));
    expect(reviewer.tokenReviews).toEqual(['forged', 'forged']);

    expect(await filter.check(scrape('stranger-token'))).toMatchObject({ status: 403 });
    reviewer.allowed.add('system:serviceaccount:default:stranger get /metrics');
    clock.advance(29_000);
    expect(await filter.check(scrape('stranger-token'))).toMatchObject({ status: 403 });
    clock.advance(1_000);
    expect(await filter.check(scrape('stranger-token'))).toMatchObject({ ok: true });
  });

  it('answers 500 when a review fails, and caches no failure', async () => {
    const { filter, reviewer } = setup();
    reviewer.failWith = new Error('connection refused');
    expect(await filter.check(scrape('reader-token'))).toMatchObject({ ok: false, status: 500, message: 'Authentication failed', cause: reviewer.failWith });
    reviewer.failWith = undefined;
    expect(await filter.check(scrape('reader-token'))).toMatchObject({ ok: true });
    expect(reviewer.tokenReviews).toHaveLength(2);


    reviewer.failAuthorizeWith = new Error('timeout');
    expect(await filter.check(scrape('stranger-token'))).toMatchObject({ ok: false, status: 500, message: 'Authorization for user system:serviceaccount:default:stranger failed' });
    reviewer.failAuthorizeWith = undefined;
    expect(await filter.check(scrape('stranger-token'))).toMatchObject({ ok: false, status: 403 });
  });

  it('sends one review for concurrent scrapes with the same token', async () => {
    const { filter, reviewer } = setup();
    let release!: () => void;
    reviewer.hold = new Promise((resolve) => (release = resolve));
    const scrapes = [filter.check(scrape('reader-token')), filter.check(scrape('reader-token')), filter.check(scrape('reader-token'))];
    release();
    for (const decision of await Promise.all(scrapes)) expect(decision).toMatchObject({ ok: true });
    expect(reviewer.tokenReviews).toHaveLength(1);
    expect(reviewer.accessReviews).toHaveLength(1);
  });

  it('keeps at most maxEntries decisions: random tokens cannot grow the cache', async () => {
    const { filter, reviewer } = setup({ maxEntries: 2 });
    await filter.check(scrape('reader-token'));
    await filter.check(scrape('forged-1'));
    await filter.check(scrape('reader-token')); // still cached
    expect(reviewer.tokenReviews).toEqual(['reader-token', 'forged-1']);
    await filter.check(scrape('forged-2')); // evicts the oldest entry, reader-token
    await filter.check(scrape('reader-token'));
    expect(reviewer.tokenReviews).toEqual(['reader-token', 'forged-1', 'forged-2', 'reader-token']);
  });
});
