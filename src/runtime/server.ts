// Shared by the metrics and health servers: bind-address parsing and a closable listener.
import type { Server } from 'node:http';

export interface ServerHandle {
  /** The bound port (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

/** Parses ":8080", "0.0.0.0:8080", "127.0.0.1:0" or "[::1]:8080". An empty host binds all interfaces. */
export function parseAddress(address: string): { host: string | undefined; port: number } {
  const i = address.lastIndexOf(':');
  if (i < 0) throw new Error(`invalid bind address ${JSON.stringify(address)}: expected host:port`);
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port in bind address ${address}`);
  return { host: host || undefined, port };
}

/** Listens and resolves with the bound port, or rejects (e.g. EADDRINUSE). */
export function listen(server: Server, address: string): Promise<ServerHandle> {
  const { host, port } = parseAddress(address);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve({
        port: typeof addr === 'object' && addr ? addr.port : port,
        close: () =>
          new Promise<void>((res, rej) => {
            server.close((err) => (err ? rej(err) : res()));
            server.closeAllConnections();
          }),
      });
    });
  });
}
