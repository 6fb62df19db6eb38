import type { RedisTarget } from '@fleet/config';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

/**
 * Redis connections as BullMQ needs them, to one server or to a Redis Cluster: the one place in
 * the fleet that creates Redis clients.
 * Workers block on Redis and must never give up on a command (`maxRetriesPerRequest: null`);
 * they reconnect forever with capped backoff. Producers fail fast so a caller (an HTTP request,
 * a CLI) gets an error instead of hanging while Redis is down.
 */
export type ConnectionRole = 'worker' | 'producer';

/** A client of either kind; both speak every command the fleet sends. */
export type RedisClient = Redis | Cluster;

const backoff = (times: number) => Math.min(200 * 2 ** Math.min(times, 5), 5_000);

export function redisOptions(role: ConnectionRole): RedisOptions {
  const common: RedisOptions = {
    connectTimeout: 10_000,
    // TCP keepalive after 10 s idle: the kernel's probes then take minutes, so it is a backstop.
    keepAlive: 10_000,
    retryStrategy: backoff,
    reconnectOnError: (err) => /READONLY|LOADING/.test(err.message),
  };
  return role === 'worker'
    ? {
        ...common,
        maxRetriesPerRequest: null,
        enableReadyCheck: true,
        // A command without any reply for 15 s means a dead path (half-open TCP): drop the socket
        // and reconnect. Longer than BullMQ's longest blocking fetch (10 s), so a quiet queue is
        // never mistaken for a dead connection.
        socketTimeout: 15_000,
      }
    : { ...common, maxRetriesPerRequest: 1, enableOfflineQueue: true, commandTimeout: 5_000 };
}

/**
 * Options of a cluster client. While a master fails over, its slots answer CLUSTERDOWN or do not
 * answer until the replica is promoted (cluster-node-timeout plus an election); the client waits
 * and retries the command against the refreshed slot map instead of failing it. Producers keep
 * their 5 s command timeout, so a caller still gets an error when the cluster stays down.
 */
export function clusterOptions(role: ConnectionRole, target: Exclude<RedisTarget, string>): ClusterOptions {
  const { retryStrategy: _, ...node } = redisOptions(role);
  return {
    redisOptions: {
      ...node,
      ...(target.username ? { username: target.username } : {}),
      ...(target.password ? { password: target.password } : {}),
      ...(target.tls ? { tls: {} } : {}),
    },
    // The nodes' certificates name their host names: keep them, do not resolve to addresses first.
    ...(target.tls ? { dnsLookup: (address: string, done: (e: null, a: string) => void) => done(null, address) } : {}),
    clusterRetryStrategy: backoff,
    enableReadyCheck: true,
    enableOfflineQueue: true,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 200,
    retryDelayOnMoved: 0,
    maxRedirections: 32,
    slotsRefreshTimeout: 2_000,
    // Read and write on masters only: a replica may lag, and BullMQ's scripts write.
    scaleReads: 'master',
  };
}

/** A new client for `target` (a redis:// URL or a cluster); the caller closes it. */
export function createRedis(target: RedisTarget, role: ConnectionRole): RedisClient {
  const client =
    typeof target === 'string'
      ? new Redis(target, redisOptions(role))
      : new Cluster(
          target.cluster.map((n) => ({ host: n.host, port: n.port })),
          clusterOptions(role, target),
        );
  // Without a listener an unreachable Redis would crash the process with an unhandled 'error'.
  client.on('error', () => {});
  return client;
}

export function isCluster(client: RedisClient): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

/** The clients of every master (a single server is its own master), e.g. to read each one's INFO. */
export function masters(client: RedisClient): Redis[] {
  return isCluster(client) ? client.nodes('master') : [client];
}
