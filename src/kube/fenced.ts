// The client the leader's work writes through: the same client (connections, observers, retries),
// with every write run under a WriteFence, so that once leadership is lost or released no write
// request leaves, however it was queued. Reads (and watches) pass straight through; the leader
// election's own Lease requests use the unfenced client, so renewing and releasing still work.
import type { WriteFence } from '../runtime/fence.ts';
import type { KubeClient } from './client.ts';

type Writes = Pick<KubeClient, 'create' | 'update' | 'apply' | 'patch' | 'delete' | 'request'>;

export function fencedClient(client: KubeClient, fence: WriteFence): KubeClient {
  // Each write passes the fence's signal to the request: the client hands it to every attempt
  // (a 429 retry included), and an aborted signal stops a request before it is sent.
  const writes: Writes = {
    create: (obj, options = {}) => fence.run(options.signal, (signal) => client.create(obj, { ...options, signal })),
    update: (obj, options = {}) => fence.run(options.signal, (signal) => client.update(obj, { ...options, signal })),
    apply: (obj, options) => fence.run(options.signal, (signal) => client.apply(obj, { ...options, signal })),
    patch: (type, namespace, name, body, options) =>
      fence.run(options.signal, (signal) => client.patch(type, namespace, name, body, { ...options, signal })),
    delete: (type, namespace, name, options = {}) =>
      fence.run(options.signal, (signal) => client.delete(type, namespace, name, { ...options, signal })),
    request: (spec) => (spec.method === 'GET' ? client.request(spec) : fence.run(spec.signal, (signal) => client.request({ ...spec, signal }))),
  };
  return new Proxy(client, {
    get(target, property) {
      if (Object.hasOwn(writes, property)) return writes[property as keyof Writes];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
