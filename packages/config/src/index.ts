export { ConfigError, loadEnvOrExit, parseEnv } from './parse-env.ts';
export {
  booleanFlag,
  commonEnv,
  logLevel,
  nonNegativeNumber,
  port,
  positiveInt,
  postgresUrl,
  queuePrefix,
  redisUrl,
} from './schemas.ts';
