import { type AuditWriter, createAuditWriter } from '@fleet/audit-writer';
import { isQueueName, type QueueName } from '@fleet/catalog';
import { queueKeyPrefix } from '@fleet/queues';
import { createScrubber, recoverLostWorkerJobs, secretValuesFromEnv } from '@fleet/runtime';
import { Queue } from 'bullmq';
import type { CliContext } from '../context.ts';
import type { ExitedRun } from './managed-process.ts';
import type { FleetComponent } from './registry.ts';

export interface JobRecovery {
  /**
   * The process of `component` ended (`run`): closes the rows of the attempts it still held and
   * hands their jobs back to BullMQ (retried with their backoff, or cancelled if a cancel was
   * recorded). Resolves to a line for the fleet's output, or null when it held nothing.
   */
  recover(component: FleetComponent, run: ExitedRun): Promise<string | null>;
  close(): Promise<void>;
}

/**
 * Crash recovery in process mode. The supervisor sees a child die the moment it does, so it need
 * not wait for the child's locks to expire as a container's peers must (worker-timing.ts): each
 * job the dead instance held (BullMQ's processedBy is its instance id) is recovered at once.
 * Connections are opened on the first crash only.
 */
export function createJobRecovery(ctx: CliContext): JobRecovery {
  let auditWriter: AuditWriter | undefined;
  const queues = new Map<QueueName, Queue>();
  const scrub = createScrubber(secretValuesFromEnv(ctx.rawEnv));

  function queue(name: QueueName): Queue {
    let q = queues.get(name);
    if (!q) {
      const connection = ctx.redis();
      q = new Queue(name, { connection, prefix: queueKeyPrefix(connection, ctx.env().QUEUE_PREFIX, name) });
      q.on('error', () => {});
      queues.set(name, q);
    }
    return q;
  }

  return {
    async recover(component, run) {
      if (component.kind !== 'agent') return null;
      auditWriter ??= createAuditWriter({ db: ctx.db() });
      const recovered = await recoverLostWorkerJobs({
        queues: component.queues.filter(isQueueName).map(queue),
        redis: ctx.redis(),
        prefix: ctx.env().QUEUE_PREFIX,
        instanceId: run.instanceId,
        agentName: component.name,
        auditWriter,
        scrub,
        how: `${run.instanceId} ${run.how}`,
      });
      if (recovered.length === 0) return null;
      const what = recovered.map((r) => `${r.jobId} attempt ${r.attempt} (${r.outcome})`).join(', ');
      return `recovered ${recovered.length} job(s) it was running: ${what}`;
    },
    async close() {
      await auditWriter?.close().catch(() => {});
      await Promise.allSettled([...queues.values()].map((q) => q.close()));
    },
  };
}
