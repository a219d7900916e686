// A KubeClient for a plain HTTP server the test made on loopback, for unit tests of the client's
// transport (timeouts, retries, fencing) where a real API server cannot be made to misbehave.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client.ts';
import type { ClientOptions } from '../../src/kube/client.ts';

/** Starts listening on a free loopback port and returns a client for it (no TLS, no credentials). */
export async function loopbackClient(server: Server, options: ClientOptions = {}): Promise<KubeClient> {
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
  return KubeClient.fromKubeConfig(kc, options);
}
