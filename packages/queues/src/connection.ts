import { Redis, type RedisOptions } from 'ioredis';

/**
 * Redis connections as BullMQ needs them.
 * Workers block on Redis and must never give up on a command (`maxRetriesPerRequest: null`);
 * they reconnect forever with capped backoff. Producers fail fast so a caller (an HTTP request,
 * a CLI) gets an error instead of hanging while Redis is down.
 */
export type ConnectionRole = 'worker' | 'producer';

export function redisOptions(role: ConnectionRole): RedisOptions {
  const common: RedisOptions = {
    connectTimeout: 10_000,
    // TCP keepalive after 10 s idle: the kernel's probes then take minutes, so it is a backstop.
    keepAlive: 10_000,
    retryStrategy: (times) => Math.min(200 * 2 ** Math.min(times, 5), 5_000),
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

/** A new ioredis client for `url`; the caller closes it. */
export function createRedis(url: string, role: ConnectionRole): Redis {
  const client = new Redis(url, redisOptions(role));
  // Without a listener an unreachable Redis would crash the process with an unhandled 'error'.
  client.on('error', () => {});
  return client;
}
