import type { RedisClient } from './connection.ts';
import { isCluster } from './connection.ts';

/**
 * The BullMQ prefix of one queue's keys. BullMQ names every key `<prefix>:<queue>:<kind>` and its
 * scripts touch several of a queue's keys at once, so on a Redis Cluster they must share a slot:
 * the prefix carries a hash tag.
 *
 * - One server: QUEUE_PREFIX as it is for every queue (`{fleet}:email_integration_queue:wait`),
 *   the layout every release so far has used.
 * - A cluster: a hash tag per queue made from it (`{fleet:email_integration_queue}:
 *   email_integration_queue:wait`), so each queue's keys share one slot and different queues
 *   hash to different slots, spread over the shards. BullMQ's documentation advises one prefix
 *   per queue on a cluster for this reason.
 */
export function queueKeyPrefix(connection: RedisClient, prefix: string, queue: string): string {
  return isCluster(connection) ? clusterQueuePrefix(prefix, queue) : prefix;
}

/** `{fleet}` + `email_integration_queue` → `{fleet:email_integration_queue}`. */
export function clusterQueuePrefix(prefix: string, queue: string): string {
  const base = prefix.startsWith('{') && prefix.endsWith('}') ? prefix.slice(1, -1) : prefix;
  return `{${base}:${queue}}`;
}
