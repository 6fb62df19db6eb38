import { ConfigError } from '@fleet/config';
import type { AnyAgent } from './define-agent.ts';
import { type StartAgentOptions, startAgent } from './start-agent.ts';

/**
 * The whole life of an agent process: start, serve until SIGTERM/SIGINT, drain within the
 * grace period and exit 0. A second signal, or the grace deadline, forces exit 1. A bad
 * configuration exits 78 with one message listing every problem.
 */
export async function runAgent(agent: AnyAgent, options: StartAgentOptions = {}): Promise<void> {
  let running: Awaited<ReturnType<typeof startAgent>>;
  try {
    running = await startAgent(agent, options);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    process.stderr.write(`${agent.name}: failed to start: ${error instanceof Error ? error.message : error}\n`);
    process.exit(1);
  }
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      running.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    running.log.info({ signal }, 'signal received');
    running.close().then(
      (drained) => process.exit(drained ? 0 : 1),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('unhandledRejection', (reason) => {
    running.log.error({ err: reason }, 'unhandled promise rejection');
  });
}
