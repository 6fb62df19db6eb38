import type { Database } from '@fleet/db';
import { ReplyError } from 'ioredis';
import type { Kysely } from 'kysely';

/**
 * What an `add` that failed tells about the job. Only an error reply from Redis is a definite
 * refusal: Redis ran the command and said no, so the job is not in the queue. Anything else — a
 * command timeout, a connection closed or reset while the command was in flight, retries given
 * up — may come after Redis received and ran the command: the job may be queued.
 */
export function isDefiniteRefusal(error: unknown): boolean {
  return error instanceof ReplyError || (error as Error | null)?.name === 'ReplyError';
}

/**
 * Adding a job had an unknown outcome (see isDefiniteRefusal). When the producer had written the
 * job's `pending` row, the row stays pending and is recorded in unconfirmed_enqueues for the
 * reconciler of the queue to resolve; `recorded` says whether that record was written.
 */
export class EnqueueUnconfirmedError extends Error {
  override name = 'EnqueueUnconfirmedError';
  constructor(
    readonly queue: string,
    readonly jobId: string,
    /** The pending row exists and is marked unconfirmed. */
    readonly recorded: boolean,
    cause: unknown,
  ) {
    super(
      `Redis did not confirm adding job ${jobId} to ${queue} (${(cause as Error)?.message ?? String(cause)}): ` +
        'the job may or may not be queued. ' +
        (recorded
          ? 'Its task stays pending until the queue’s reconciler finds the job in Redis or records the task failed.'
          : 'Look it up by its job id before adding it again.'),
      { cause },
    );
  }
}

export interface UnconfirmedEnqueue {
  queueName: string;
  /** autonomous_tasks.job_id of the pending row (attempt 1). */
  jobId: string;
  workspaceId: string | null;
  reason: string;
  recordedAt: Date;
}

/** Records an enqueue whose outcome is unknown; a repeat keeps the first record. */
export async function recordUnconfirmed(
  db: Kysely<Database>,
  entry: Omit<UnconfirmedEnqueue, 'recordedAt'>,
): Promise<void> {
  await db
    .insertInto('unconfirmed_enqueues')
    .values({
      queue_name: entry.queueName,
      job_id: entry.jobId,
      workspace_id: entry.workspaceId,
      reason: entry.reason.slice(0, 1000),
    })
    .onConflict((oc) => oc.columns(['queue_name', 'job_id']).doNothing())
    .execute();
}

/** Unconfirmed enqueues of `queue` recorded before `before`, oldest first. */
export async function listUnconfirmed(
  db: Kysely<Database>,
  queue: string,
  before: Date,
  limit: number,
): Promise<UnconfirmedEnqueue[]> {
  const rows = await db
    .selectFrom('unconfirmed_enqueues')
    .selectAll()
    .where('queue_name', '=', queue)
    .where('recorded_at', '<', before)
    .orderBy('recorded_at')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    queueName: r.queue_name,
    jobId: r.job_id,
    workspaceId: r.workspace_id,
    reason: r.reason,
    recordedAt: r.recorded_at,
  }));
}

/** Forgets an unconfirmed enqueue once it is resolved. */
export async function clearUnconfirmed(db: Kysely<Database>, queue: string, jobId: string): Promise<void> {
  await db.deleteFrom('unconfirmed_enqueues').where('queue_name', '=', queue).where('job_id', '=', jobId).execute();
}
