// A TCP proxy between the operator and the API server, to cut the network without touching
// either: partition() drops every open connection (watches included) and refuses new ones
// until heal(). TLS passes through untouched; the API server's certificate names 127.0.0.1.
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

export class PartitionProxy {
  readonly port: number;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private partitioned = false;
  connections = 0;

  private constructor(server: Server, port: number) {
    this.server = server;
    this.port = port;
  }

  static async start(target: { host: string; port: number }): Promise<PartitionProxy> {
    let proxy: PartitionProxy | undefined;
    const server = createServer((client) => {
      if (!proxy || proxy.partitioned) {
        client.destroy();
        return;
      }
      proxy.connections++;
      const upstream = connect(target.port, target.host);
      const p = proxy;
      for (const s of [client, upstream]) {
        p.sockets.add(s);
        s.on('close', () => p.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    const port: number = await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
    proxy = new PartitionProxy(server, port);
    return proxy;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** Cuts every connection (resets, as a dead link or a crashed node would) and refuses new ones. */
  partition(): void {
    this.partitioned = true;
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
  }

  heal(): void {
    this.partitioned = false;
  }

  async close(): Promise<void> {
    this.partition();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
