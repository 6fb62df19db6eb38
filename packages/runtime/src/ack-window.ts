import type { AgentDefinition } from './define-agent.ts';
import type { RuntimeEnv } from './env.ts';

/** The default window is this many jobs per handler slot … */
export const ACK_WINDOW_PER_SLOT = 4;
/** … and never more than this. */
export const MAX_DEFAULT_ACK_WINDOW = 200;

/** How many jobs one worker runs, and how many more it may hold. */
export interface WorkerCapacity {
  /** Handlers running at once (WORKER_CONCURRENCY, else the agent's concurrency). */
  slots: number;
  /** Jobs held beyond the slots (AUDIT_ACK_WINDOW). */
  window: number;
  /** BullMQ's Worker concurrency: every job the worker may hold, slots + window. */
  held: number;
}

/**
 * A job whose handler has returned still waits a group commit (a few ms) before its row is
 * durable and BullMQ may acknowledge it. Holding it in a handler slot meanwhile makes a worker of
 * short handlers latency-bound: its slots wait on commits, not on work. So BullMQ's concurrency is
 * the handler slots plus a window, and the slots are a semaphore inside the processor: a finished
 * job waits for its commit in the window while the next one runs.
 *
 * The cost: BullMQ fetches up to the whole window ahead, so when handlers are slow the window
 * fills with jobs fetched and waiting for a slot, which another replica could have run. The
 * default, 4 jobs per slot up to 200, keeps that to four handler durations of wait; 200 at
 * concurrency 50 is what a no-op workload needs to keep its slots busy. AUDIT_ACK_WINDOW=0 holds
 * only as many jobs as run (a finished job then keeps BullMQ from fetching until its commit).
 */
export function workerCapacity(
  env: Pick<RuntimeEnv, 'WORKER_CONCURRENCY' | 'AUDIT_ACK_WINDOW'>,
  agent: Pick<AgentDefinition, 'concurrency' | 'ackWindow'>,
): WorkerCapacity {
  const slots = env.WORKER_CONCURRENCY ?? agent.concurrency;
  const window =
    env.AUDIT_ACK_WINDOW ?? agent.ackWindow ?? Math.min(MAX_DEFAULT_ACK_WINDOW, ACK_WINDOW_PER_SLOT * slots);
  return { slots, window, held: slots + window };
}
