// A KubeClient for a plain HTTP server the test made on loopback, for unit tests of the client's
// transport (timeouts, retries, fencing) where a real API server cannot be made to misbehave.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client.ts';
import type { ClientOptions } from '../../src/kube/client.ts';

const servers: Server[] = [];
const clients: KubeClient[] = [];
// Registered when a test file imports this module: closes what each test made, including
// connections a server left unanswered on purpose.
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** Starts listening on a free loopback port and returns a client for it (no TLS, no credentials). */
export async function loopbackClient(server: Server, options: ClientOptions = {}): Promise<KubeClient> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // skipTLSVerify: client-node refuses a plain-HTTP server otherwise.
    clusters: [{ name: 'loopback', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'nobody' }],
    contexts: [{ name: 'loopback', cluster: 'loopback', user: 'nobody' }],
    currentContext: 'loopback',
  });
  const client = await KubeClient.fromKubeConfig(kc, options);
  clients.push(client);
  return client;
}
