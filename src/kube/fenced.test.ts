// The fenced client against a loopback HTTP server: what actually reaches the server once the
// fence closes.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { loopbackClient } from '../../test/support/loopback.ts';
import { FencedWriteError, WriteFence } from '../runtime/fence.ts';
import type { KubeClient } from './client.ts';
import { fencedClient } from './fenced.ts';
import { ConfigMaps } from './resources.ts';
import type { KubeObject } from './types.ts';

interface Seen {
  method: string;
  url: string;
}

/** A server that records every request it receives and lets the test answer it. */
async function serve(answer: (req: IncomingMessage, res: ServerResponse, seen: Seen[]) => void): Promise<{ client: KubeClient; seen: Seen[]; arrived: (n: number) => Promise<void> }> {
  const seen: Seen[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '' });
    for (const w of waiters.filter((w) => seen.length >= w.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    req.resume();
    answer(req, res, seen);
  });
  const client = await loopbackClient(server);
  const arrived = (n: number): Promise<void> => (seen.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })));
  return { client, seen, arrived };
}

const event = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Event', metadata: { name, namespace: 'default' } });
const configMap: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' } };
const lease: KubeObject = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l', namespace: 'default', resourceVersion: '1' } };

const ok = (_req: IncomingMessage, res: ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"apiVersion":"v1","kind":"Event","metadata":{"name":"x"}}');
};

describe('fencedClient', () => {
  it('sends nothing once the fence is closed: no write, in any verb', async () => {
    const { client, seen } = await serve(ok);
    const fence = new WriteFence();
    const leader = fencedClient(client, fence);
    const attempts = [
      leader.create(event('a')),
      leader.update(configMap),
      leader.apply(configMap, { fieldManager: 'm' }),
      leader.patch(ConfigMaps, 'default', 'c', {}, { kind: 'merge' }),
      leader.delete(ConfigMaps, 'default', 'c'),
      leader.request({ method: 'POST', path: '/api/v1/namespaces/default/events', body: event('b') }),
    ];
    for (const attempt of attempts) await expect(attempt).rejects.toBeInstanceOf(FencedWriteError);
    expect(seen).toEqual([]);
  });

  it('passes reads through while closed, and leaves the unfenced client (the Lease) alone', async () => {
    const { client, seen } = await serve(ok);
    const fence = new WriteFence();
    const leader = fencedClient(client, fence);
    await leader.find(ConfigMaps, 'default', 'c');
    await leader.list(ConfigMaps, { namespace: 'default' });
    await client.update(lease);
    expect(seen.map((s) => s.method)).toEqual(['GET', 'GET', 'PUT']);
    expect(seen[2]!.url).toBe('/apis/coordination.k8s.io/v1/namespaces/default/leases/l');
  });

  it('a write waiting out a 429 when the fence closes is not sent again', async () => {
    const { client, seen, arrived } = await serve((_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end('{"kind":"Status","code":429,"reason":"TooManyRequests"}');
    });
    const fence = new WriteFence();
    fence.open();
    const write = fencedClient(client, fence).create(event('throttled'));
    await arrived(1);
    fence.close(new Error('leader election lost'));
    await expect(write).rejects.toThrow('write fenced: leader election lost');
    // The unfenced client would have retried after Retry-After; the fenced one has given up.
    expect(seen).toHaveLength(1);
  });

  it('a write the server has not answered when the fence closes is abandoned at once', async () => {
    const { client, arrived } = await serve(() => {});
    const fence = new WriteFence();
    fence.open();
    const write = fencedClient(client, fence).patch(ConfigMaps, 'default', 'c', {}, { kind: 'merge' });
    await arrived(1);
    fence.close(new Error('leader election lost'));
    await expect(write).rejects.toBeInstanceOf(FencedWriteError);
    expect(fence.inFlight).toBe(0);
  });

  it('writes normally while open', async () => {
    const { client, seen } = await serve(ok);
    const fence = new WriteFence();
    fence.open();
    await fencedClient(client, fence).create(event('open'));
    expect(seen.map((s) => s.method)).toEqual(['POST']);
  });
});
