// An HTTP proxy on loopback in front of the API server that delivers watch streams late: every
// chunk of a watch response reaches the client `lagMs` after the API server sent it, in order,
// as from an API server whose watch cache trails etcd under load. Every other request passes at
// once. So an operator behind it sees the answers to its own writes before its informers see
// those writes, every time, instead of only when it loses a race.
//
// The client speaks plain HTTP to the proxy, without credentials; the proxy speaks to the API
// server as the user of the kubeconfig it was given.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

export class LaggingWatchProxy {
  readonly lagMs: number;
  private readonly server: Server;
  private readonly port: number;

  private constructor(server: Server, port: number, lagMs: number) {
    this.server = server;
    this.port = port;
    this.lagMs = lagMs;
  }

  static async start(upstream: KubeConfig, lagMs: number): Promise<LaggingWatchProxy> {
    const cluster = upstream.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig names no cluster');
    const target = new URL(cluster.server);
    const credentials: RequestOptions = { headers: {} };
    await upstream.applyToHTTPSOptions(credentials);
    const server = createServer((req, res) => forward(req, res, target, credentials, lagMs));
    const port: number = await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
    return new LaggingWatchProxy(server, port, lagMs);
  }

  /** A kubeconfig that reaches the API server through the proxy. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      // client-node refuses an http:// server unless told to skip TLS verification; there is no TLS to verify.
      clusters: [{ name: 'lagging', server: `http://127.0.0.1:${this.port}`, skipTLSVerify: true }],
      users: [{ name: 'through-proxy' }],
      contexts: [{ name: 'lagging', cluster: 'lagging', user: 'through-proxy', namespace: 'default' }],
      currentContext: 'lagging',
    });
    return kc;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function forward(req: IncomingMessage, res: ServerResponse, target: URL, credentials: RequestOptions, lagMs: number): void {
  const watch = /[?&]watch=(true|1)(&|$)/.test(req.url ?? '');
  const headers = { ...req.headers, ...(credentials.headers as Record<string, string>) };
  delete headers.host;
  const upstream = httpsRequest(
    {
      ...credentials,
      headers,
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (!watch) {
        answer.pipe(res);
        return;
      }
      // Timers of one duration fire in the order they were set: the stream stays in order.
      const open = () => !res.destroyed && !res.writableEnded;
      answer.on('data', (chunk: Buffer) => setTimeout(() => open() && res.write(chunk), lagMs));
      answer.on('end', () => setTimeout(() => open() && res.end(), lagMs));
      answer.on('error', () => res.destroy());
    },
  );
  upstream.on('error', (err) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`proxy: ${err.message}`);
  });
  // The client gave up (a watch it stopped, a request it aborted): so does the proxy.
  res.on('close', () => upstream.destroy());
  req.pipe(upstream);
}
