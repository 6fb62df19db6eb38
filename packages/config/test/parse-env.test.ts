import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, commonEnv, parseEnv, port, redisRules } from '../src/index.ts';

const schema = redisRules(z.object({ ...commonEnv, HTTP_PORT: port.default(9464) }));

describe('parseEnv', () => {
  it('returns typed values with defaults', () => {
    const env = parseEnv('agent', schema, {
      DATABASE_URL: 'postgres://u:p@db:5432/fleet',
      REDIS_URL: 'redis://redis:6379',
    });
    expect(env.HTTP_PORT).toBe(9464);
    expect(env.QUEUE_PREFIX).toBe('{fleet}');
    expect(env.LOG_LEVEL).toBe('info');
  });

  it('lists every problem at once, by name, without values', () => {
    const secret = 'postgres-but-not-really:supersecret@host';
    let error: unknown;
    try {
      parseEnv('agent', schema, { DATABASE_URL: secret, HTTP_PORT: 'abc', LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, message } = error as ConfigError;
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'DATABASE_URL',
      'HTTP_PORT',
      'LOG_LEVEL',
      'REDIS_URL',
    ]);
    expect(problems.find((p) => p.startsWith('REDIS_URL'))).toContain('is required');
    expect(message).not.toContain('supersecret');
    expect(message).toContain('.env.example');
  });

  it('says what a set variable got, and "not set" only when it is not set', () => {
    const budget = z.object({ BUDGET_USD: z.coerce.number({ error: 'must be a number' }), NAME: z.string() });
    const problems = (() => {
      try {
        parseEnv('agent', budget, { BUDGET_USD: 'abc' });
      } catch (e) {
        return (e as ConfigError).problems;
      }
      return [];
    })();
    expect(problems).toEqual(["BUDGET_USD: must be a number, got 'abc'", 'NAME: is required but not set']);
  });

  it('never prints the value of a secret variable or the password in a URL', () => {
    const schema2 = z.object({
      API_KEY: z.string().min(40, 'must be at least 40 characters'),
      DATABASE_URL: z.string().startsWith('postgres://', 'must start with postgres://'),
    });
    let message = '';
    try {
      parseEnv('agent', schema2, { API_KEY: 'short-secret', DATABASE_URL: 'mysql://root:hunter22@db/x' });
    } catch (e) {
      message = (e as ConfigError).message;
    }
    expect(message).toContain('API_KEY: must be at least 40 characters\n');
    expect(message).not.toContain('short-secret');
    expect(message).toContain("DATABASE_URL: must start with postgres://, got 'mysql://root:***@db/x'");
    expect(message).not.toContain('hunter22');
  });

  it('reports cross-variable rules of a superRefine under the variable to set', () => {
    const provider = z
      .object({ PROVIDER: z.enum(['none', 'http']).default('none'), PROVIDER_URL: z.string().optional() })
      .superRefine((env, ctx) => {
        if (env.PROVIDER === 'http' && !env.PROVIDER_URL) {
          ctx.addIssue({ code: 'custom', path: ['PROVIDER_URL'], message: 'is required when PROVIDER=http' });
        }
      });
    expect(() => parseEnv('agent', provider, { PROVIDER: 'http' })).toThrow(
      /PROVIDER_URL: is required when PROVIDER=http/,
    );
  });

  it('gives every process an instance id, unique per start unless set', () => {
    const a = parseEnv('agent', schema, { DATABASE_URL: 'postgres://db/fleet', REDIS_URL: 'redis://r:6379' });
    const b = parseEnv('agent', schema, { DATABASE_URL: 'postgres://db/fleet', REDIS_URL: 'redis://r:6379' });
    expect(a.FLEET_INSTANCE_ID).not.toBe(b.FLEET_INSTANCE_ID);
    const named = parseEnv('agent', schema, {
      DATABASE_URL: 'postgres://db/fleet',
      REDIS_URL: 'redis://r:6379',
      FLEET_INSTANCE_ID: 'analytics#2-1a2b',
    });
    expect(named.FLEET_INSTANCE_ID).toBe('analytics#2-1a2b');
  });

  it('wraps a queue prefix in a Redis Cluster hash tag', () => {
    const env = parseEnv('agent', schema, {
      DATABASE_URL: 'postgres://db/fleet',
      REDIS_URL: 'redis://r:6379',
      QUEUE_PREFIX: 'prod',
    });
    expect(env.QUEUE_PREFIX).toBe('{prod}');
  });
});
