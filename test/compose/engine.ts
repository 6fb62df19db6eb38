/**
 * The container engine behind DOCKER_HOST, through its HTTP API: Docker or podman's Docker
 * compatible API. Only what the compose test needs: containers of one project, their state, and
 * (podman) running their health checks.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';

export interface Engine {
  /** The DOCKER_HOST value this engine answers on. */
  host: string;
  call<T = unknown>(method: string, path: string): Promise<{ status: number; body: T }>;
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  State: string;
  Labels: Record<string, string>;
}

export interface ContainerInfo {
  Id: string;
  Name: string;
  State: {
    Status: string;
    ExitCode: number;
    StartedAt: string;
    FinishedAt: string;
    Health?: { Status: string; Log?: { ExitCode: number; Output: string }[] | null };
  };
  Config: {
    Env: string[] | null;
    Labels: Record<string, string>;
    Healthcheck?: { Test?: string[]; Interval?: number };
  };
  HostConfig: { ReadonlyRootfs: boolean };
}

/** An engine client for a DOCKER_HOST value (unix:///path or tcp://host:port). */
export function engineAt(host: string): Engine {
  const target = host.startsWith('unix://')
    ? { socketPath: host.slice('unix://'.length) }
    : (() => {
        const u = new URL(host.replace(/^tcp:/, 'http:'));
        return { host: u.hostname, port: Number(u.port || 2375) };
      })();
  return {
    host,
    call<T>(method: string, path: string) {
      return new Promise<{ status: number; body: T }>((resolve, reject) => {
        const req = request({ ...target, method, path, timeout: 120_000 }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            try {
              body = text ? JSON.parse(text) : null;
            } catch {}
            resolve({ status: res.statusCode ?? 0, body: body as T });
          });
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer from ${host}`)));
        req.on('error', reject);
        req.end();
      });
    },
  };
}

export async function reachable(engine: Engine): Promise<boolean> {
  try {
    return (await engine.call('GET', '/_ping')).status === 200;
  } catch {
    return false;
  }
}

/** True when the engine is podman (its /version lists a "Podman Engine" component). */
export async function isPodman(engine: Engine): Promise<boolean> {
  const { body } = await engine.call<{ Components?: { Name: string }[] }>('GET', '/version');
  return (body.Components ?? []).some((c) => /podman/i.test(c.Name));
}

/** Starts `podman system service` on a socket in `dir`; for machines with podman and no Docker. */
export async function startPodmanService(dir: string): Promise<{ engine: Engine; stop(): Promise<void> }> {
  const socket = `${dir}/podman.sock`;
  const child: ChildProcess = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
    stdio: 'ignore',
  });
  const engine = engineAt(`unix://${socket}`);
  const deadline = Date.now() + 20_000;
  while (!(await reachable(engine))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('podman system service did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    engine,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function projectContainers(engine: Engine, project: string): Promise<ContainerSummary[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }));
  const { body } = await engine.call<ContainerSummary[]>('GET', `/containers/json?all=true&filters=${filters}`);
  return body;
}

export async function inspect(engine: Engine, id: string): Promise<ContainerInfo> {
  const { status, body } = await engine.call<ContainerInfo>('GET', `/containers/${id}/json`);
  if (status !== 200) throw new Error(`inspect ${id}: HTTP ${status}`);
  return body;
}

/** The compose service a container belongs to. */
export const serviceOf = (c: { Labels: Record<string, string> }) => c.Labels['com.docker.compose.service'] ?? '?';

/**
 * Plays the engine's part for health checks on podman without systemd, which schedules them with
 * systemd timers and so never runs them here: each running container's check runs once per its
 * interval (the first an interval after it is seen), through libpod's healthcheck endpoint.
 * Without it nothing becomes healthy and `depends_on: service_healthy` waits forever.
 */
export function startHealthTicker(engine: Engine, project: string): { stop(): Promise<void> } {
  const due = new Map<string, number>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const running = (await projectContainers(engine, project)).filter((c) => c.State === 'running');
        for (const c of running) {
          const next = due.get(c.Id);
          const now = Date.now();
          if (next === undefined) {
            const hc = (await inspect(engine, c.Id)).Config.Healthcheck;
            const interval = hc?.Test?.length && hc.Test[0] !== 'NONE' ? (hc.Interval ?? 30e9) / 1e6 : 0;
            due.set(c.Id, interval ? now + interval : Number.POSITIVE_INFINITY);
            if (interval) due.set(`${c.Id}:interval`, interval);
          } else if (now >= next) {
            due.set(c.Id, now + (due.get(`${c.Id}:interval`) ?? 30_000));
            await engine.call('GET', `/v4.0.0/libpod/containers/${c.Id}/healthcheck`);
          }
        }
      } catch {
        // The engine restarting or a container going away: try again on the next tick.
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
