export { buildProgram, runCli } from './cli.ts';
export { type CliEnv, cliEnvShape, LOCAL_DATABASE_URL, LOCAL_REDIS_URL } from './cli-env.ts';
export type { CliIO } from './context.ts';
export { ExitCode } from './exit-codes.ts';
export { CONTROL_PLANE, type FleetComponent, fleetRegistry, isPresent, REPO_ROOT } from './fleet/registry.ts';
