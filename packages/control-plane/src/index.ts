export { type AppOptions, buildApp } from './app.ts';
export { type ControlPlaneEnv, controlPlaneEnvSchema } from './env.ts';
export { type RunningControlPlane, startControlPlane } from './start.ts';
