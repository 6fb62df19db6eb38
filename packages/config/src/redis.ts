import { z } from 'zod';
import { booleanFlag, redisUrl } from './schemas.ts';

/**
 * Where a process finds Redis: one server (`REDIS_URL`, the default) or a Redis Cluster
 * (`REDIS_CLUSTER_NODES`, some of its nodes; the client discovers the rest). Plain data: the
 * connection factory in @fleet/queues turns it into a client.
 */
export type RedisTarget =
  | string
  | {
      cluster: { host: string; port: number }[];
      username?: string;
      password?: string;
      /** TLS to every node; certificates are checked against the node's host name. */
      tls: boolean;
    };

/** `host:port,host:port`: at least one node; each entry is checked on its own. */
export const redisClusterNodes = z.string().transform((text, ctx) => {
  const nodes: { host: string; port: number }[] = [];
  for (const entry of text.split(/[\s,]+/).filter(Boolean)) {
    const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(entry);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) {
      ctx.addIssue({ code: 'custom', message: `'${entry}' is not host:port (e.g. redis-0.redis:6379)` });
      continue;
    }
    nodes.push({ host: match[1]!.replace(/^\[|\]$/g, ''), port });
  }
  if (nodes.length === 0 && ctx.issues.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'must list at least one host:port' });
  }
  return nodes;
});

/** The Redis variables of every fleet process. Spread into a schema, then apply {@link redisRules}. */
export const redisEnv = {
  /** One Redis server (redis:// or rediss:// for TLS, credentials in the URL). */
  REDIS_URL: redisUrl.optional(),
  /** A Redis Cluster instead: some of its nodes, `host:port` separated by commas. */
  REDIS_CLUSTER_NODES: redisClusterNodes.optional(),
  /** ACL user and password of the cluster's nodes (REDIS_URL carries its own). */
  REDIS_CLUSTER_USERNAME: z.string().min(1).optional(),
  REDIS_CLUSTER_PASSWORD: z.string().min(1).optional(),
  /** TLS to the cluster's nodes; extra CA certificates come from Node's NODE_EXTRA_CA_CERTS. */
  REDIS_CLUSTER_TLS: booleanFlag.default(false),
};

type RedisEnvInput = { REDIS_URL?: unknown; REDIS_CLUSTER_NODES?: unknown; REDIS_CLUSTER_PASSWORD?: unknown };

/**
 * The cross-variable rules: exactly one of REDIS_URL and REDIS_CLUSTER_NODES (unless the schema
 * gives REDIS_URL a default, `urlOptional`), and cluster credentials only with a cluster. They run
 * even when other variables are bad, so one message still lists every problem.
 */
export function redisRules<S extends z.ZodObject>(schema: S, options: { urlOptional?: boolean } = {}): S {
  const always = { when: () => true };
  const given = (v: unknown) => v !== undefined && v !== null && v !== '';
  return schema
    .refine((env: RedisEnvInput) => options.urlOptional || given(env.REDIS_URL) || given(env.REDIS_CLUSTER_NODES), {
      ...always,
      path: ['REDIS_URL'],
      message: 'is required but not set (or set REDIS_CLUSTER_NODES for a Redis Cluster)',
    })
    .refine((env: RedisEnvInput) => !(given(env.REDIS_URL) && given(env.REDIS_CLUSTER_NODES)), {
      ...always,
      path: ['REDIS_CLUSTER_NODES'],
      message: 'set either REDIS_URL (one server) or REDIS_CLUSTER_NODES (a cluster), not both',
    })
    .refine((env: RedisEnvInput) => !given(env.REDIS_CLUSTER_PASSWORD) || given(env.REDIS_CLUSTER_NODES), {
      ...always,
      path: ['REDIS_CLUSTER_PASSWORD'],
      message: 'applies to REDIS_CLUSTER_NODES only (a single server takes its password in REDIS_URL)',
    }) as unknown as S;
}

export interface RedisEnv {
  REDIS_URL?: string | undefined;
  REDIS_CLUSTER_NODES?: { host: string; port: number }[] | undefined;
  REDIS_CLUSTER_USERNAME?: string | undefined;
  REDIS_CLUSTER_PASSWORD?: string | undefined;
  REDIS_CLUSTER_TLS?: boolean | undefined;
}

/** The target a parsed environment names; `defaultUrl` when it names none (the CLI's local Redis). */
export function redisTargetOf(env: RedisEnv, defaultUrl?: string): RedisTarget {
  if (env.REDIS_CLUSTER_NODES?.length) {
    return {
      cluster: env.REDIS_CLUSTER_NODES,
      ...(env.REDIS_CLUSTER_USERNAME ? { username: env.REDIS_CLUSTER_USERNAME } : {}),
      ...(env.REDIS_CLUSTER_PASSWORD ? { password: env.REDIS_CLUSTER_PASSWORD } : {}),
      tls: env.REDIS_CLUSTER_TLS ?? false,
    };
  }
  const url = env.REDIS_URL ?? defaultUrl;
  if (!url) throw new Error('REDIS_URL or REDIS_CLUSTER_NODES must be set');
  return url;
}

/** What an error message names: the variable to fix and where it points (no credentials). */
export function describeRedisTarget(target: RedisTarget): { variable: string; where: string } {
  if (typeof target === 'string') {
    const url = URL.canParse(target) ? new URL(target) : null;
    return { variable: 'REDIS_URL', where: url ? `${url.protocol}//${url.host}` : 'REDIS_URL' };
  }
  return {
    variable: 'REDIS_CLUSTER_NODES',
    where: `cluster ${target.cluster.map((n) => `${n.host}:${n.port}`).join(',')}${target.tls ? ' (TLS)' : ''}`,
  };
}
