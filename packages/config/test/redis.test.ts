import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type ConfigError, commonEnv, describeRedisTarget, parseEnv, redisRules, redisTargetOf } from '../src/index.ts';

const schema = redisRules(z.object(commonEnv));
const db = { DATABASE_URL: 'postgres://u:p@db:5432/fleet' };

function problemsOf(env: Record<string, string>, s: z.ZodType = schema): string[] {
  try {
    parseEnv('agent', s, env);
  } catch (error) {
    return (error as ConfigError).problems;
  }
  return [];
}

describe('Redis target', () => {
  it('is one server by default', () => {
    const env = parseEnv('agent', schema, { ...db, REDIS_URL: 'redis://:pw@redis:6379' });
    expect(redisTargetOf(env)).toBe('redis://:pw@redis:6379');
    expect(env.QUEUE_PREFIX).toBe('{fleet}');
  });

  it('is a cluster when REDIS_CLUSTER_NODES is set, with its credentials and TLS', () => {
    const env = parseEnv('agent', schema, {
      ...db,
      REDIS_CLUSTER_NODES: 'redis-0.redis:6379, redis-1.redis:6380,[::1]:7000',
      REDIS_CLUSTER_USERNAME: 'fleet',
      REDIS_CLUSTER_PASSWORD: 'cluster-secret',
      REDIS_CLUSTER_TLS: 'true',
    });
    const target = redisTargetOf(env);
    expect(target).toEqual({
      cluster: [
        { host: 'redis-0.redis', port: 6379 },
        { host: 'redis-1.redis', port: 6380 },
        { host: '::1', port: 7000 },
      ],
      username: 'fleet',
      password: 'cluster-secret',
      tls: true,
    });
    expect(describeRedisTarget(target)).toEqual({
      variable: 'REDIS_CLUSTER_NODES',
      where: 'cluster redis-0.redis:6379,redis-1.redis:6380,::1:7000 (TLS)',
    });
    expect(JSON.stringify(describeRedisTarget(target))).not.toContain('cluster-secret');
  });

  it('names each bad node, and lists the Redis problems with the others', () => {
    const problems = problemsOf({ REDIS_CLUSTER_NODES: 'redis-0:6379,redis-1,redis-2:99999', LOG_LEVEL: 'loud' });
    expect(problems).toContainEqual(expect.stringMatching(/^REDIS_CLUSTER_NODES: 'redis-1' is not host:port/));
    expect(problems).toContainEqual(expect.stringMatching(/^REDIS_CLUSTER_NODES: 'redis-2:99999' is not host:port/));
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'DATABASE_URL',
      'LOG_LEVEL',
      'REDIS_CLUSTER_NODES',
      'REDIS_CLUSTER_NODES',
    ]);
  });

  it('wants exactly one of REDIS_URL and REDIS_CLUSTER_NODES, even when other variables are bad', () => {
    expect(problemsOf({ LOG_LEVEL: 'loud' })).toContain(
      'REDIS_URL: is required but not set (or set REDIS_CLUSTER_NODES for a Redis Cluster)',
    );
    expect(problemsOf({ ...db, REDIS_URL: 'redis://redis:6379', REDIS_CLUSTER_NODES: 'redis-0:6379' })).toEqual([
      "REDIS_CLUSTER_NODES: set either REDIS_URL (one server) or REDIS_CLUSTER_NODES (a cluster), not both, got 'redis-0:6379'",
    ]);
  });

  it('refuses a cluster password without a cluster, never showing it', () => {
    const problems = problemsOf({ ...db, REDIS_URL: 'redis://redis:6379', REDIS_CLUSTER_PASSWORD: 'hunter2hunter2' });
    expect(problems).toEqual([
      'REDIS_CLUSTER_PASSWORD: applies to REDIS_CLUSTER_NODES only (a single server takes its password in REDIS_URL)',
    ]);
  });

  it('lets a schema with a default URL leave both unset (the CLI on a laptop)', () => {
    const env = parseEnv('fleet', redisRules(z.object(commonEnv), { urlOptional: true }), db);
    expect(redisTargetOf(env, 'redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});
