// The client's transport against a loopback HTTP server made here: request timeouts, watches
// exempt from them, and 429 retries that leave nothing behind on the caller's signal.
import { getEventListeners } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { loopbackClient } from '../../test/support/loopback.ts';
import type { KubeClient } from './client.ts';
import type { ClientOptions } from './client.ts';
import { RequestTimeoutError } from './errors.ts';
import { Pods } from './resources.ts';
import type { KubeObject, WatchEvent } from './types.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const serve = (handler: Handler, options: ClientOptions = {}): Promise<KubeClient> => loopbackClient(createServer(handler), options);

const pod = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', resourceVersion: '1' } });

describe('request timeout', () => {
  it('fails a request the server never answers with a timeout error', async () => {
    const client = await serve(() => {}, { requestTimeoutMs: 200 });
    const failure = await client.get(Pods, 'default', 'silent').catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(RequestTimeoutError);
    expect(failure).toMatchObject({ status: 0, reason: 'Timeout', timeoutMs: 200, method: 'GET', path: '/api/v1/namespaces/default/pods/silent' });
  });

  it('fails a request whose response body stops halfway', async () => {
    const client = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"kind":"Pod",');
    }, { requestTimeoutMs: 200 });
    await expect(client.get(Pods, 'default', 'half')).rejects.toBeInstanceOf(RequestTimeoutError);
  });

  it('leaves a caller that aborts with its own abort, not a timeout', async () => {
    const client = await serve(() => {}, { requestTimeoutMs: 60_000 });
    const caller = new AbortController();
    const pending = client.get(Pods, 'default', 'silent', caller.signal).catch((err: unknown) => err);
    caller.abort();
    const failure = await pending;
    expect(failure).not.toBeInstanceOf(RequestTimeoutError);
    expect((failure as Error).name).toBe('AbortError');
  });

  it('does not cut a watch that stays open longer than the request timeout', async () => {
    let stream: ServerResponse | undefined;
    let streamOpened: () => void = () => {};
    const opened = new Promise<void>((resolve) => (streamOpened = resolve));
    const client = await serve((req, res) => {
      if (!req.url?.includes('watch=true')) return; // every other request is left unanswered
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${JSON.stringify({ type: 'ADDED', object: pod('first') })}\n`);
      stream = res;
      streamOpened();
    }, { requestTimeoutMs: 200 });

    const events: WatchEvent<KubeObject>[] = [];
    const watching = client.watch(Pods, { resourceVersion: '0' }, (e) => events.push(e));
    await opened;
    // A request started after the watch opened outlives the timeout and fails: the watch has
    // now been open longer than the timeout too.
    await expect(client.get(Pods, 'default', 'silent')).rejects.toBeInstanceOf(RequestTimeoutError);
    stream!.end(`${JSON.stringify({ type: 'MODIFIED', object: pod('first') })}\n`);
    await watching;
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED']);
  });
});

describe('429 retries', () => {
  it('leave no listener on a long-lived signal', async () => {
    const throttled = 5;
    let received = 0;
    const client = await serve((_req, res) => {
      received++;
      if (received <= throttled) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' });
        res.end(JSON.stringify({ kind: 'Status', code: 429, reason: 'TooManyRequests', message: 'slow down' }));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(pod('answered')));
      }
    });
    const longLived = new AbortController();
    const answered = await client.get(Pods, 'default', 'answered', longLived.signal);
    expect(answered.metadata.name).toBe('answered');
    expect(received).toBe(throttled + 1);
    expect(getEventListeners(longLived.signal, 'abort')).toHaveLength(0);
  });

  it('leave no listener when retries run out', async () => {
    let received = 0;
    const client = await serve((_req, res) => {
      received++;
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' });
      res.end(JSON.stringify({ kind: 'Status', code: 429, reason: 'TooManyRequests', message: 'slow down' }));
    }, { maxThrottleRetries: 3 });
    const longLived = new AbortController();
    await expect(client.get(Pods, 'default', 'throttled', longLived.signal)).rejects.toMatchObject({ status: 429 });
    expect(received).toBe(4);
    expect(getEventListeners(longLived.signal, 'abort')).toHaveLength(0);
  });
});
