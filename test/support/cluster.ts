// What an integration test needs from the shared cluster: an admin client, kubectl, and
// namespaces of its own (deleted when the file's tests end).
import { randomBytes } from 'node:crypto';
import { afterAll, inject } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client.ts';
import type { ClientOptions } from '../../src/kube/client.ts';
import { Namespaces } from '../../src/kube/resources.ts';
import { runKubectl } from '../../hack/localcluster/cluster.ts';

export interface TestCluster {
  kubeconfigPath: string;
  binDir: string;
  kubeConfig: KubeConfig;
  client: KubeClient;
  kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  newNamespace(labels?: Record<string, string>): Promise<string>;
  newClient(options?: ClientOptions): Promise<KubeClient>;
}

let shared: Promise<TestCluster> | undefined;
const namespaces: string[] = [];
const clients: KubeClient[] = [];

// Registered when a test file imports this module (during collection): hooks registered later,
// from inside a beforeAll, would be dropped by vitest and the namespaces would leak.
afterAll(async () => {
  if (!shared) return;
  const { client } = await shared;
  await Promise.all(namespaces.splice(0).map((ns) => client.delete(Namespaces, undefined, ns).catch(() => false)));
  await Promise.all(clients.splice(0).map((c) => c.close()));
  shared = undefined;
});

export function useTestCluster(): Promise<TestCluster> {
  shared ??= connect();
  return shared;
}

async function connect(): Promise<TestCluster> {
  const kubeconfigPath = inject('kubeconfigPath');
  const binDir = inject('binDir');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const newClient = async (options: ClientOptions = {}) => {
    const c = await KubeClient.fromKubeConfig(kubeConfig, { userAgent: 'aimodel-tests', ...options });
    clients.push(c);
    return c;
  };
  const client = await newClient();
  return {
    kubeconfigPath,
    binDir,
    kubeConfig,
    client,
    newClient,
    kubectl: (args, input) => runKubectl(binDir, kubeconfigPath, args, input),
    async newNamespace(labels = {}) {
      const name = `t-${randomBytes(4).toString('hex')}`;
      await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
      namespaces.push(name);
      return name;
    },
  };
}
