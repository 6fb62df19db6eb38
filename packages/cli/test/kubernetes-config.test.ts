/**
 * deploy/kubernetes configuration against the env schemas: each fleet process gets exactly the
 * variables its zod schema declares (no more: least privilege), every variable it requires,
 * secrets only from its own Secret, and the dev overlay's values parse as the process would
 * parse them at start.
 */
import { parseEnv } from '@fleet/config';
import { secretValuesFromEnv } from '@fleet/runtime';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { byKind, describeObject, podSpecOf, renderOverlays, valuesOf } from './kubernetes/render.ts';
import { asProcessEnv, containerEnv, isRequired, serviceEnvShapes, serviceOf } from './kubernetes/service-env.ts';

const overlays = renderOverlays();
const shapes = await serviceEnvShapes();

/**
 * A variable whose value is a secret: one the runtime's log scrubber treats as such by its
 * name, or a connection URL (it carries the password).
 */
const isSecret = (name: string) =>
  /_URL$/.test(name)
    ? ['DATABASE_URL', 'REDIS_URL'].includes(name)
    : secretValuesFromEnv({ [name]: 'value-of-a-secret' }).length > 0;

describe.each(overlays)('overlay %s', (overlay, objects) => {
  // Every container that runs a fleet process, with the service it runs.
  const containers = objects.flatMap((o) =>
    (podSpecOf(o)?.containers ?? [])
      // biome-ignore lint/suspicious/noExplicitAny: rendered containers
      .map((c: any) => ({ owner: describeObject(o), service: serviceOf(c.args), container: c }))
      .filter((c: { service?: string }) => c.service),
  ) as { owner: string; service: string; container: unknown }[];

  it('runs every service the env schemas describe (the agents, the control plane, migrate)', () => {
    expect(new Set(containers.map((c) => c.service))).toEqual(new Set(shapes.keys()));
  });

  it('gives each process only variables its schema declares, and every one it requires', () => {
    for (const { owner, service, container } of containers) {
      const shape = shapes.get(service)!;
      const env = containerEnv(container, objects);
      const undeclared = [...env.keys()].filter((name) => !(name in shape));
      expect(undeclared, `${owner}: variables ${service} does not read`).toEqual([]);
      const missing = Object.entries(shape)
        .filter(([name, schema]) => isRequired(schema) && !env.has(name))
        .map(([name]) => name);
      expect(missing, `${owner}: variables ${service} requires`).toEqual([]);
    }
  });

  it('takes every secret from a Secret, and gives each service a Secret of its own', () => {
    const users = new Map<string, Set<string>>();
    for (const { owner, service, container } of containers) {
      for (const [name, source] of containerEnv(container, objects)) {
        if (isSecret(name)) expect(source.from, `${owner}: ${name}`).toBe('Secret');
        if (source.from === 'Secret') users.set(source.object!, (users.get(source.object!) ?? new Set()).add(service));
      }
    }
    const shared = [...users].filter(([, services]) => services.size > 1).map(([secret]) => secret);
    expect(shared).toEqual([]);
    // Each service connects with its own DATABASE_URL, so each can log in as its own role.
    for (const service of shapes.keys()) {
      const withUrl = containers.filter((c) => c.service === service);
      for (const c of withUrl) expect(containerEnv(c.container, objects).get('DATABASE_URL')?.from).toBe('Secret');
    }
  });

  it('puts no secret in a ConfigMap', () => {
    for (const map of byKind(objects, 'ConfigMap')) {
      expect(Object.keys(valuesOf(map)).filter(isSecret), describeObject(map)).toEqual([]);
    }
  });

  if (overlay === 'dev') {
    it('configures every process with values its schema accepts, as it parses them at start', () => {
      for (const { owner, service, container } of containers) {
        const env = asProcessEnv(containerEnv(container, objects));
        expect(() => parseEnv(service, z.object(shapes.get(service)!), env), owner).not.toThrow();
      }
    });

    it('connects migrate as the owner and every other process as the login role migrate creates for it', () => {
      const postgres = valuesOf(byKind(objects, 'Secret').find((s) => s.metadata.name.startsWith('postgres-'))!);
      const redisConf = valuesOf(byKind(objects, 'Secret').find((s) => s.metadata.name.startsWith('redis-'))!);
      const requirepass = /^requirepass (\S+)$/m.exec(redisConf['redis.conf']!)?.[1];
      expect(requirepass).toBe(redisConf.password);
      const migrate = containers.find((c) => c.service === 'migrate')!;
      const roles = parseEnv(
        'migrate',
        z.object(shapes.get('migrate')!),
        asProcessEnv(containerEnv(migrate.container, objects)),
      );
      const login = (service: string) =>
        service === 'migrate'
          ? [postgres.POSTGRES_USER, postgres.POSTGRES_PASSWORD]
          : service === 'control-plane'
            ? [roles.CONTROL_PLANE_DATABASE_USER, roles.CONTROL_PLANE_DATABASE_PASSWORD]
            : [roles.AGENT_DATABASE_USER, roles.AGENT_DATABASE_PASSWORD];
      for (const { owner, service, container } of containers) {
        const env = containerEnv(container, objects);
        const db = new URL(env.get('DATABASE_URL')!.value);
        expect([db.hostname, db.username, db.password, db.pathname], owner).toEqual([
          'postgres',
          ...login(service),
          `/${postgres.POSTGRES_DB}`,
        ]);
        const redis = env.get('REDIS_URL');
        if (redis)
          expect([new URL(redis.value).hostname, new URL(redis.value).password], owner).toEqual(['redis', requirepass]);
      }
    });
  }

  if (overlay === 'prod') {
    it('ships no secret values: every Secret is a template to fill from a secret store', () => {
      for (const secret of byKind(objects, 'Secret')) {
        const filled = Object.entries(valuesOf(secret)).filter(([name, value]) => isSecret(name) && value !== '');
        expect(
          filled.map(([name]) => name),
          describeObject(secret),
        ).toEqual([]);
      }
    });
  }
});
