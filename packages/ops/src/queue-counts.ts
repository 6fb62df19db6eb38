import { catalog, QUEUE_NAMES, type QueueName } from '@fleet/catalog';
import type { Producer } from '@fleet/queues';
import { type Access, ADMIN, assertAdmin } from './access.ts';

export interface QueueCounts {
  queue: QueueName;
  agent: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  prioritized: number;
  completed: number;
  /** Age of the oldest job still waiting (plain or prioritized) in ms; null when none waits. */
  oldestWaitingMs: number | null;
  /** Whether the queue is paused (no worker takes jobs). */
  isPaused: boolean;
}

/** How many prioritized jobs are read to find the oldest one (they are ordered by priority). */
const PRIORITIZED_SCAN = 200;

/**
 * Live counts of every catalog queue, read from Redis. The queues are shared by every workspace
 * and BullMQ keeps no per-workspace counts, so these are fleet-wide figures: operators only
 * (a tenant's queued and running tasks are in dashboardStats and listTasks).
 */
export async function queueCounts(
  producer: Producer,
  access: Access = ADMIN,
  now: number = Date.now(),
): Promise<QueueCounts[]> {
  assertAdmin(access, 'fleet-wide queue counts');
  return Promise.all(
    QUEUE_NAMES.map(async (name) => {
      const q = producer.queue(name);
      const [counts, oldestWaiting, prioritized, isPaused] = await Promise.all([
        q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized', 'completed'),
        // The wait list is LPUSHed: ascending order puts the oldest job first.
        q.getJobs(['waiting'], 0, 0, true),
        q.getJobs(['prioritized'], 0, PRIORITIZED_SCAN - 1, true),
        q.isPaused(),
      ]);
      const stamps = [...oldestWaiting, ...prioritized].filter(Boolean).map((j) => j.timestamp);
      const oldest = stamps.length > 0 ? Math.min(...stamps) : null;
      return {
        queue: name,
        agent: catalog[name].agent,
        waiting: counts.waiting ?? 0,
        active: counts.active ?? 0,
        delayed: counts.delayed ?? 0,
        failed: counts.failed ?? 0,
        prioritized: counts.prioritized ?? 0,
        completed: counts.completed ?? 0,
        oldestWaitingMs: oldest === null ? null : Math.max(0, now - oldest),
        isPaused,
      };
    }),
  );
}
