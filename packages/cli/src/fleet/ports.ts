import { createServer } from 'node:net';

/** A TCP port that was free a moment ago on `host` (the OS picks it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A port the fleet will listen on, and how a user moves it. */
export interface PlannedPort {
  port: number;
  host: string;
  /** Who listens there, e.g. "analytics probe". */
  what: string;
  /** The flag that moves it, e.g. "--base-port". */
  flag: string;
}

/** Why `port` cannot be opened on `host` right now (EADDRINUSE, EACCES…), or null when it can. */
export function portProblem(port: number, host: string): Promise<string | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(null)));
  });
}

/** The planned ports another process holds (or that may not be opened), each with its problem. */
export async function busyPorts(planned: PlannedPort[]): Promise<Array<PlannedPort & { problem: string }>> {
  const checked = await Promise.all(planned.map(async (p) => ({ ...p, problem: await portProblem(p.port, p.host) })));
  return checked.filter((p): p is PlannedPort & { problem: string } => p.problem !== null);
}
