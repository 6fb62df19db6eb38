export { commonEnv } from './common-env.ts';
export { CONFIG_EXIT_CODE, ConfigError, loadEnvOrExit, parseEnv, shownValue } from './parse-env.ts';
export {
  describeRedisTarget,
  type RedisEnv,
  type RedisTarget,
  redisClusterNodes,
  redisEnv,
  redisRules,
  redisTargetOf,
} from './redis.ts';
export {
  booleanFlag,
  logLevel,
  nonNegativeNumber,
  port,
  positiveInt,
  postgresUrl,
  queuePrefix,
  redisUrl,
} from './schemas.ts';
