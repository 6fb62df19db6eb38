import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '@fleet/config';
import type { Registry } from 'prom-client';

export interface ProbeServerOptions {
  /** The process's name, for the configuration error when the port is taken. */
  service: string;
  host: string;
  port: number;
  /** Answered by /healthz, so a supervisor can tell its own child from another process on the port. */
  instanceId: string;
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
      const instance = options.instanceId;
      return options.alive() ? json(200, { status: 'ok', instance }) : json(503, { status: 'shutting down', instance });
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
  await listen(server, { ...options, variable: 'HTTP_PORT' });
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

/**
 * A port that is taken or may not be opened is a configuration problem (exit 78, not restarted),
 * reported under the variable that sets it; other listen errors pass through.
 */
export function explainListenError(
  error: unknown,
  o: { service: string; host: string; port: number; variable: string },
): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code !== 'EADDRINUSE' && code !== 'EACCES' && code !== 'EADDRNOTAVAIL') return error;
  const why =
    code === 'EADDRINUSE'
      ? `port ${o.port} on ${o.host} is already in use by another process`
      : code === 'EACCES'
        ? `port ${o.port} on ${o.host} may not be opened by this user`
        : `${o.host} is not an address of this machine`;
  return new ConfigError(o.service, [`${o.variable}: ${why} (${code}); choose another ${o.variable}`]);
}

function listen(server: Server, o: { service: string; host: string; port: number; variable: string }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(explainListenError(error, o)));
    server.listen(o.port, o.host, () => resolve());
  });
}
