import { ConfigError } from '@fleet/config';
import { startControlPlane } from './start.ts';

let running: Awaited<ReturnType<typeof startControlPlane>>;
try {
  running = await startControlPlane();
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
  throw error;
}

let stopping = false;
function stop(signal: string): void {
  if (stopping) {
    running.log.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  running.log.info({ signal }, 'stopping: finishing open requests');
  const force = setTimeout(() => {
    running.log.error('grace period over: exiting');
    process.exit(1);
  }, running.shutdownGraceMs);
  force.unref();
  running.close().then(
    () => process.exit(0),
    (err: unknown) => {
      running.log.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
