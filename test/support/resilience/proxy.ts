// A TCP proxy between the operator and the API server, to cut the network without touching
// either. partition() drops every open connection (watches included) and refuses new ones
// until heal(). holdRequests() is the quieter failure: the link stops carrying what the operator
// sends (its requests wait at the proxy, on open and new connections alike) while what the API
// server sends still arrives (watch events keep coming); heal() delivers what waited, on every
// connection the operator still holds open. A connection the operator closes meanwhile is reset
// upstream with what it had sent dropped: the proxy treats held bytes as still in the sender's
// hands, so a request the operator abandons does not arrive, one it keeps waiting on does.
// TLS passes through untouched; the API server's certificate names 127.0.0.1.
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

export interface ProxyOptions {
  /**
   * Local address of the proxy's connections to the API server (a loopback address such as
   * 127.0.0.2), so the API server's audit log tells this path's requests apart by source IP.
   */
  localAddress?: string;
}

interface Link {
  client: Socket;
  upstream: Socket;
  held: Buffer[];
  clientEnded: boolean;
}

export class PartitionProxy {
  readonly port: number;
  private readonly server: Server;
  private readonly links = new Set<Link>();
  private partitioned = false;
  private holding = false;
  connections = 0;
  /** Bytes held during holdRequests() and delivered on heal(), or dropped with their connection. */
  readonly heldBytes = { delivered: 0, dropped: 0 };

  private constructor(server: Server, port: number) {
    this.server = server;
    this.port = port;
  }

  static async start(target: { host: string; port: number }, options: ProxyOptions = {}): Promise<PartitionProxy> {
    let proxy: PartitionProxy | undefined;
    const server = createServer((client) => {
      if (!proxy || proxy.partitioned) {
        client.destroy();
        return;
      }
      proxy.connections++;
      const upstream = connect({ port: target.port, host: target.host, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
      proxy.link(client, upstream);
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

  private link(client: Socket, upstream: Socket): void {
    const link: Link = { client, upstream, held: [], clientEnded: false };
    this.links.add(link);
    const drop = (): void => {
      this.links.delete(link);
      this.heldBytes.dropped += link.held.reduce((n, b) => n + b.length, 0);
      link.held = [];
      client.destroy();
      upstream.resetAndDestroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (this.holding) link.held.push(chunk);
      else upstream.write(chunk);
    });
    client.on('end', () => {
      link.clientEnded = true;
      if (!this.holding) upstream.end();
    });
    // The operator gave up on this connection: while its bytes are held, they go nowhere.
    client.on('close', () => {
      if (this.holding && (link.held.length > 0 || !link.clientEnded)) drop();
      else {
        this.links.delete(link);
        upstream.end();
      }
    });
    client.on('error', drop);
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    upstream.on('end', () => client.end());
    upstream.on('close', () => {
      this.links.delete(link);
      client.destroy();
    });
    upstream.on('error', drop);
  }

  /** Connections open at either end. */
  get openConnections(): number {
    return this.links.size;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** Cuts every connection (resets, as a dead link or a crashed node would) and refuses new ones. */
  partition(): void {
    this.partitioned = true;
    for (const link of this.links) {
      link.client.resetAndDestroy();
      link.upstream.resetAndDestroy();
    }
    this.links.clear();
  }

  /** From now on what the client sends waits at the proxy; what the server sends still arrives. */
  holdRequests(): void {
    this.holding = true;
  }

  /** Ends a partition or a hold: held bytes go on to the API server, new connections are accepted. */
  heal(): void {
    this.partitioned = false;
    this.holding = false;
    for (const link of this.links) {
      for (const chunk of link.held) {
        this.heldBytes.delivered += chunk.length;
        link.upstream.write(chunk);
      }
      link.held = [];
      if (link.clientEnded) link.upstream.end();
    }
  }

  async close(): Promise<void> {
    this.partition();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
