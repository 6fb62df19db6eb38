import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ProbeServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** False once shutdown began: the orchestrator should stop routing and not restart us. */
  alive: () => boolean;
  /** Resolves to a map of dependency → error message (empty when all are reachable). */
  checkDependencies: () => Promise<Record<string, string>>;
}

export interface ProbeServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** /healthz (alive), /readyz (Redis and Postgres reachable) and /metrics (Prometheus text). */
export async function startProbeServer(options: ProbeServerOptions): Promise<ProbeServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'use GET' });
    if (path === '/healthz') {
      return options.alive() ? json(200, { status: 'ok' }) : json(503, { status: 'shutting down' });
    }
    if (path === '/readyz') {
      options.checkDependencies().then(
        (problems) =>
          Object.keys(problems).length === 0
            ? json(200, { status: 'ready', checks: { redis: 'ok', postgres: 'ok' } })
            : json(503, { status: 'not ready', checks: { redis: 'ok', postgres: 'ok', ...problems } }),
        (error: Error) => json(503, { status: 'not ready', error: error.message }),
      );
      return;
    }
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': options.registry.contentType });
          res.end(text);
        },
        (error: Error) => json(500, { error: error.message }),
      );
      return;
    }
    json(404, { error: 'not found; try /healthz, /readyz or /metrics' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
