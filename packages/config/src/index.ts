export { CONFIG_EXIT_CODE, ConfigError, loadEnvOrExit, parseEnv, shownValue } from './parse-env.ts';
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
