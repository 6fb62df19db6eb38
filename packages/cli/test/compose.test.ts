/**
 * The container definitions against the registry and the env schemas: every agent in the job
 * catalog (plus the control plane) has a hardened service with a health check, and every
 * variable any process reads is documented in .env.example.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeEnvShape } from '@fleet/runtime';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cliEnvShape, migrateEnvShape } from '../src/cli-env.ts';
import { fleetRegistry, isPresent, REPO_ROOT } from '../src/fleet/registry.ts';

interface Service {
  image?: string;
  user?: string;
  command?: string[];
  cap_add?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  restart?: string;
  stop_grace_period?: string;
  mem_limit?: string;
  read_only?: boolean;
  tmpfs?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number | string };
  environment?: Record<string, string>;
  env_file?: string | string[];
  ports?: string[];
  profiles?: string[];
  volumes?: string[];
  networks?: string[];
}

const composeText = readFileSync(join(REPO_ROOT, 'docker-compose.agents.yml'), 'utf8');
const compose = parse(composeText, { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
  networks: Record<string, { internal?: boolean }>;
};
const services = compose.services;
const registry = fleetRegistry();
const RUNTIME_DEFAULT_GRACE_MS = 25_000;

/** The service running a registry component, by its command. */
function serviceOf(name: string, kind: string): [string, Service] | undefined {
  return Object.entries(services).find(([, s]) =>
    kind === 'control-plane' ? s.command?.[0] === 'control-plane' : s.command?.[0] === 'agent' && s.command[1] === name,
  );
}

function seconds(duration: string | undefined): number {
  const m = /^(\d+)(ms|s|m)$/.exec(duration ?? '');
  if (!m) return 0;
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60 }[m[2] as 'ms' | 's' | 'm'];
}

describe('docker-compose.agents.yml', () => {
  it('has a service with a health check for every registry component, and no agent service outside it', () => {
    for (const component of registry) {
      const found = serviceOf(component.name, component.kind);
      expect(found, `no service runs ${component.name}`).toBeDefined();
      const [, service] = found!;
      expect(service.healthcheck?.test, `${component.name} has no healthcheck`).toBeDefined();
      expect(service.healthcheck?.test?.join(' ')).toContain('/app/docker/healthcheck.mjs');
    }
    const names = new Set(registry.map((c) => c.name));
    for (const [name, service] of Object.entries(services)) {
      if (service.command?.[0] === 'agent')
        expect(names.has(service.command[1]!), `${name} runs an unknown agent`).toBe(true);
    }
  });

  it('checks the port each process is configured to serve /healthz on, defaulting like the process', async () => {
    const { controlPlaneEnvSchema } = await import('@fleet/control-plane');
    for (const component of registry) {
      const [, service] = serviceOf(component.name, component.kind)!;
      // The check names the variable (docker/healthcheck.mjs reads it), so a port set in .env
      // moves the check with the process.
      expect(service.healthcheck!.test!.at(-1), component.name).toBe(component.portVariable);
      const shape = (component.kind === 'agent' ? runtimeEnvShape : controlPlaneEnvSchema.shape) as Record<
        string,
        { parse(v: unknown): unknown }
      >;
      const fallback = shape[component.portVariable]!.parse(undefined);
      expect(service.environment?.[component.portVariable], component.name).toBe(
        `\${${component.portVariable}:-${fallback}}`,
      );
    }
    const published = services[serviceOf('control-plane', 'control-plane')![0]]!.ports![0]!;
    expect(published.endsWith(`:\${CONTROL_PLANE_PORT:-8080}`)).toBe(true);
  });

  it('hardens and supervises every fleet service', () => {
    for (const component of registry) {
      const [name, s] = serviceOf(component.name, component.kind)!;
      expect(s.restart, name).toBe('unless-stopped');
      expect(s.read_only, name).toBe(true);
      expect(
        s.tmpfs?.some((t) => t.startsWith('/tmp')),
        name,
      ).toBe(true);
      expect(s.cap_drop, name).toEqual(['ALL']);
      expect(s.security_opt, name).toContain('no-new-privileges:true');
      expect(s.mem_limit, name).toBeTruthy();
      expect(s.depends_on?.migrate?.condition, name).toBe('service_completed_successfully');
      expect(s.depends_on?.postgres?.condition, name).toBe('service_healthy');
      expect(s.depends_on?.redis?.condition, name).toBe('service_healthy');
      expect(s.image, name).toBe(services.migrate!.image);
    }
  });

  it('gives every process longer to stop than its own shutdown grace period', () => {
    for (const component of registry) {
      const [name, s] = serviceOf(component.name, component.kind)!;
      const graceMs = Number(s.environment?.SHUTDOWN_GRACE_MS ?? RUNTIME_DEFAULT_GRACE_MS);
      expect(seconds(s.stop_grace_period), name).toBeGreaterThanOrEqual(graceMs / 1000 + 5);
    }
  });

  it('lets every agent be scaled from .env', () => {
    for (const component of registry.filter((c) => c.kind === 'agent')) {
      const [name, s] = serviceOf(component.name, component.kind)!;
      const variable = `${component.name.toUpperCase().replace(/-/g, '_')}_REPLICAS`;
      expect(String(s.deploy?.replicas), name).toBe(`\${${variable}:-1}`);
      // Replicas share nothing host-specific: no fixed container name or published port.
      expect(s.ports, name).toBeUndefined();
    }
  });

  it('runs migrations once, before the agents, and publishes only the control plane', () => {
    const migrate = services.migrate!;
    expect(migrate.command).toEqual(['migrate']);
    expect(migrate.restart).toBe('no');
    const published = Object.entries(services).filter(([, s]) => s.ports && s.ports.length > 0);
    expect(published.map(([n]) => n)).toEqual([serviceOf('control-plane', 'control-plane')![0]]);
  });

  it('configures Redis for queues: AOF, noeviction, a password, no published port, internal network', () => {
    const redis = services.redis!;
    const command = (redis.command ?? []).join(' ');
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--maxmemory-policy noeviction');
    // The password is configuration read from stdin, never an argument; the image's entrypoint
    // still starts the server.
    expect(command).toContain('exec docker-entrypoint.sh redis-server - ');
    expect(command).toMatch(/^requirepass \$\$auth$/m);
    expect(command).not.toContain('--requirepass');
    expect(command).toContain('unset REDISCLI_AUTH');
    expect(redis.ports).toBeUndefined();
    expect(redis.volumes?.some((v) => v.startsWith('redisdata:'))).toBe(true);
    expect(redis.healthcheck?.test).toBeDefined();
    expect(redis.networks).toEqual(['backend']);
    expect(compose.networks.backend?.internal).toBe(true);
  });

  it('keeps Postgres on a named volume with a health check', () => {
    const pg = services.postgres!;
    expect(pg.volumes).toContain('pgdata:/var/lib/postgresql/data');
    expect(Object.keys(compose.volumes)).toContain('pgdata');
    expect(pg.healthcheck?.test?.join(' ')).toContain('pg_isready');
    expect(pg.ports).toBeUndefined();
  });

  it('runs Postgres and Redis as their own users with no capabilities, no privilege gain, a read-only root', () => {
    for (const [name, user] of [
      ['postgres', 'postgres'],
      ['redis', 'redis'],
    ] as const) {
      const s = services[name]!;
      expect(s.user, name).toBe(user);
      expect(s.cap_drop, name).toEqual(['ALL']);
      expect(s.cap_add, name).toBeUndefined();
      expect(s.security_opt, name).toContain('no-new-privileges:true');
      expect(s.read_only, name).toBe(true);
    }
    expect(services.postgres!.tmpfs).toEqual(['/run:size=1m,mode=1777', '/tmp:size=16m,mode=1777']);
  });

  it('puts optional services behind a profile', () => {
    const core = new Set(['postgres', 'redis', 'migrate', ...registry.map((c) => serviceOf(c.name, c.kind)![0])]);
    for (const [name, s] of Object.entries(services)) {
      if (!core.has(name)) expect(s.profiles?.length, `${name} should be behind a profile`).toBeGreaterThan(0);
    }
    expect(services.transcription?.profiles).toEqual(['transcription']);
  });
});

/** The variables each service's own code reads, from the env schemas. */
async function declaredVariables(): Promise<Map<string, Set<string>>> {
  const { controlPlaneEnvSchema } = await import('@fleet/control-plane');
  const declared = new Map<string, Set<string>>([
    ['migrate', new Set(Object.keys(migrateEnvShape))],
    ['fleet', new Set(Object.keys(cliEnvShape))],
    // The images' own variables (their entrypoints and health checks read them).
    ['postgres', new Set(['POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_DB'])],
    ['redis', new Set(['REDISCLI_AUTH', 'REDIS_MAXMEMORY'])],
  ]);
  for (const component of registry) {
    const [name] = serviceOf(component.name, component.kind)!;
    if (component.kind === 'control-plane') {
      declared.set(name, new Set(Object.keys(controlPlaneEnvSchema.shape)));
      continue;
    }
    const agent = (await import(join(REPO_ROOT, `agents/${component.name}/src/index.ts`))).default as {
      env?: Record<string, unknown>;
    };
    declared.set(name, new Set([...Object.keys(runtimeEnvShape), ...Object.keys(agent.env ?? {})]));
  }
  return declared;
}

/** Compose-level settings a service's values may be built from besides its own variables. */
const CONNECTION_INPUTS: Record<string, string[]> = {
  agent: ['AGENT_DATABASE_USER', 'AGENT_DATABASE_PASSWORD', 'POSTGRES_DB', 'REDIS_PASSWORD'],
  'control-plane': ['CONTROL_PLANE_DATABASE_USER', 'CONTROL_PLANE_DATABASE_PASSWORD', 'POSTGRES_DB', 'REDIS_PASSWORD'],
  fleet: ['CONTROL_PLANE_DATABASE_USER', 'CONTROL_PLANE_DATABASE_PASSWORD', 'POSTGRES_DB', 'REDIS_PASSWORD'],
  migrate: ['POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_DB'],
  redis: ['REDIS_PASSWORD'],
  postgres: [],
};

/**
 * Variables that identify one process and must never be shared by replicas: left unset in
 * containers, where the default (derived from the container's host name) is unique per replica.
 */
const PER_PROCESS = new Set(['FLEET_INSTANCE_ID']);

/** The compose fleet runs its own single Redis (REDIS_URL): a cluster's variables are not passed. */
const CLUSTER_ONLY = new Set([
  'REDIS_CLUSTER_NODES',
  'REDIS_CLUSTER_USERNAME',
  'REDIS_CLUSTER_PASSWORD',
  'REDIS_CLUSTER_TLS',
]);

describe('the variables each container gets', () => {
  it('are exactly the ones its code declares: no service reads the whole .env', async () => {
    const declared = await declaredVariables();
    for (const [name, s] of Object.entries(services)) {
      expect(s.env_file, `${name} must not read a whole env file`).toBeUndefined();
      const want = declared.get(name);
      if (!want) continue; // third-party optional services (transcription) bring their own
      const have = new Set(Object.keys(s.environment ?? {}));
      const missing = [...want].filter((v) => !have.has(v) && !PER_PROCESS.has(v) && !CLUSTER_ONLY.has(v));
      expect(
        missing,
        `${name}: declared but not passed: ${missing.join(', ')} (add \`NAME: \${NAME:-}\` to its environment)`,
      ).toEqual([]);
      const extra = [...have].filter((v) => !want.has(v));
      expect(extra, `${name}: passed but never read: ${extra.join(', ')}`).toEqual([]);
    }
    expect([...declared.keys()].sort()).toEqual(
      Object.keys(services)
        .filter((n) => !services[n]!.profiles || n === 'fleet')
        .sort(),
    );
  });

  it('are built only from the service’s own settings: secrets reach no other container, only migrate gets the owner', async () => {
    const declared = await declaredVariables();
    for (const [name, s] of Object.entries(services)) {
      const want = declared.get(name);
      if (!want) continue;
      const kind = s.command?.[0] === 'agent' ? 'agent' : name;
      const allowed = new Set([...want, ...(CONNECTION_INPUTS[kind] ?? []), 'QUEUE_PREFIX']);
      const referenced = Object.values(s.environment ?? {}).flatMap((value) =>
        [...String(value).matchAll(/(?<!\$)\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!),
      );
      expect(
        referenced.filter((v) => !allowed.has(v)),
        `${name} gets values of other services' variables`,
      ).toEqual([]);
    }
    const ownerUsers = Object.entries(services)
      .filter(([, s]) => Object.values(s.environment ?? {}).some((v) => String(v).includes('${POSTGRES_PASSWORD')))
      .map(([n]) => n);
    expect(ownerUsers.sort()).toEqual(['migrate', 'postgres']);
  });
});

describe('.env.example', () => {
  const documented = new Set(
    readFileSync(join(REPO_ROOT, '.env.example'), 'utf8')
      .split('\n')
      .map((line) => /^#?\s*([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
      .filter((name): name is string => Boolean(name)),
  );

  it('documents every variable the compose file interpolates', () => {
    const used = [...composeText.matchAll(/(?<!\$)\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!);
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((v) => !documented.has(v))).toEqual([]);
  });

  it('documents every variable of the runtime, the CLI, the control plane and each agent', async () => {
    const shapes: [string, Record<string, unknown>][] = [
      ['runtime', runtimeEnvShape],
      ['cli', cliEnvShape],
      ['migrate', migrateEnvShape],
    ];
    for (const component of registry.filter((c) => isPresent(c))) {
      if (component.kind === 'control-plane') {
        const { controlPlaneEnvSchema } = await import('@fleet/control-plane');
        shapes.push([component.name, controlPlaneEnvSchema.shape]);
      } else {
        const agent = (await import(join(REPO_ROOT, `agents/${component.name}/src/index.ts`))).default as {
          name: string;
          env?: Record<string, unknown>;
        };
        expect(agent.name).toBe(component.name);
        shapes.push([component.name, agent.env ?? {}]);
      }
    }
    const missing = shapes.flatMap(([owner, shape]) =>
      Object.keys(shape)
        .filter((v) => !documented.has(v))
        .map((v) => `${owner}: ${v}`),
    );
    expect(missing).toEqual([]);
  });

  it('sets every variable the processes require, so `cp .env.example .env` starts the fleet', () => {
    const set = new Set(
      readFileSync(join(REPO_ROOT, '.env.example'), 'utf8')
        .split('\n')
        .map((line) => /^([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
        .filter(Boolean),
    );
    for (const v of [
      'POSTGRES_PASSWORD',
      'AGENT_DATABASE_PASSWORD',
      'CONTROL_PLANE_DATABASE_PASSWORD',
      'REDIS_PASSWORD',
      'ADMIN_API_KEY',
      'GOOGLE_CLIENT_ID',
      'GOOGLE_CLIENT_SECRET',
    ]) {
      expect(set.has(v), v).toBe(true);
    }
    expect(set.has('MAIL_TOKEN_ENCRYPTION_KEY')).toBe(true);
  });
});

describe('the registry', () => {
  it('has every agent of the job catalog in this checkout', () => {
    const missing = registry.filter((c) => !isPresent(c)).map((c) => c.entry);
    expect(missing).toEqual([]);
  });
});

describe('docker/Dockerfile', () => {
  const dockerfile = readFileSync(join(REPO_ROOT, 'docker/Dockerfile'), 'utf8');

  it('builds in stages, installs production dependencies only, and runs as a non-root user under tini', () => {
    expect(dockerfile.match(/^FROM .+ AS \w+/gm)?.length).toBeGreaterThanOrEqual(3);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--", "\/app\/docker\/entrypoint\.sh"\]/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*healthcheck\.mjs/m);
  });

  it('builds without a registry beyond the base image: no `# syntax=` frontend to pull', () => {
    expect(dockerfile).not.toMatch(/^#\s*syntax\s*=/im);
  });

  it('uses an even-numbered (LTS) Node line', () => {
    const major = Number(/ARG NODE_IMAGE=node:(\d+)/.exec(dockerfile)?.[1]);
    expect(major % 2).toBe(0);
    expect(major).toBeGreaterThanOrEqual(22);
  });

  it('copies every file the entry point and the health check need', () => {
    for (const path of ['docker/entrypoint.sh', 'docker/healthcheck.mjs']) {
      expect(existsSync(join(REPO_ROOT, path))).toBe(true);
      expect(dockerfile).toContain(path);
    }
    for (const dir of ['migrations', 'packages', 'agents'])
      expect(dockerfile).toMatch(new RegExp(`^COPY ${dir} `, 'm'));
  });
});
