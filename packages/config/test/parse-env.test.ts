import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, commonEnv, parseEnv, port } from '../src/index.ts';

const schema = z.object({ ...commonEnv, HTTP_PORT: port.default(9464) });

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

  it('wraps a queue prefix in a Redis Cluster hash tag', () => {
    const env = parseEnv('agent', schema, {
      DATABASE_URL: 'postgres://db/fleet',
      REDIS_URL: 'redis://r:6379',
      QUEUE_PREFIX: 'prod',
    });
    expect(env.QUEUE_PREFIX).toBe('{prod}');
  });
});
