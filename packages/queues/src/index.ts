export type { RedisTarget } from '@fleet/config';
export {
  type ConnectionRole,
  clusterOptions,
  createRedis,
  isCluster,
  masters,
  type RedisClient,
  redisOptions,
} from './connection.ts';
export {
  clearUnconfirmed,
  EnqueueUnconfirmedError,
  isDefiniteRefusal,
  listUnconfirmed,
  recordUnconfirmed,
  type UnconfirmedEnqueue,
} from './enqueue-outcome.ts';
export { clusterQueuePrefix, queueKeyPrefix } from './key-layout.ts';
export {
  createProducer,
  type EnqueueOptions,
  type EnqueueResult,
  type Producer,
  type ProducerOptions,
} from './producer.ts';
