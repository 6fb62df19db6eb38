import { isUuid } from '@fleet/db';
import type { Job } from 'bullmq';
import { auditJobId } from './audit-id.ts';
import { type Trigger, triggeredBy } from './common.ts';

/**
 * The payload field that carries a job's trigger. It travels inside job.data (every payload schema
 * allows it, baseFields) because producers in other languages add jobs with BullMQ directly and
 * can set nothing else; it is therefore also part of input_data. Written by withTrigger, read by
 * triggerOf, dropped by withoutTrigger: nothing else touches it.
 */
export const TRIGGER_FIELD = 'triggered_by';

/**
 * What names one execution attempt in autonomous_tasks, plus the identity fields every writer of
 * the attempt must agree on. The producer (pending row), the processor (running and terminal rows),
 * the reconciler and the lost-worker recovery all derive it here, so their writes meet in one row.
 */
export interface AttemptIdentity {
  queueName: string;
  /** autonomous_tasks.job_id: auditJobId of the BullMQ id and creation time. */
  jobId: string;
  /** BullMQ's attemptsStarted for this attempt; 1 for a job not started yet. */
  attempt: number;
  /** The payload's workspace_id when it is a UUID, else null. */
  workspaceId: string | null;
  triggeredBy: Trigger;
}

/** The fields of a BullMQ job an identity is read from (a job not yet added can supply them too). */
export type JobFields = Pick<Job, 'queueName' | 'id' | 'timestamp' | 'attemptsStarted' | 'data'> & {
  repeatJobKey?: string | undefined;
};

function field(data: unknown, name: string): unknown {
  return data !== null && typeof data === 'object' && !Array.isArray(data)
    ? (data as Record<string, unknown>)[name]
    : undefined;
}

/** The workspace a payload names: its `workspace_id` when that is a UUID, else null. */
export function workspaceOf(data: unknown): string | null {
  const ws = field(data, 'workspace_id');
  return isUuid(ws) ? ws : null;
}

/** The trigger a payload carries when it is one of the known triggers, else `fallback`. */
export function triggerOf(data: unknown, fallback: Trigger): Trigger {
  const parsed = triggeredBy.safeParse(field(data, TRIGGER_FIELD));
  return parsed.success ? parsed.data : fallback;
}

/** `payload` carrying `trigger`, unless it is not an object or already names its own trigger. */
export function withTrigger(payload: unknown, trigger: Trigger): unknown {
  return payload && typeof payload === 'object' && !Array.isArray(payload) && !(TRIGGER_FIELD in payload)
    ? { ...(payload as object), [TRIGGER_FIELD]: trigger }
    : payload;
}

/** `payload` without its trigger: the domain fields alone (to enqueue it again under a new one). */
export function withoutTrigger(payload: Record<string, unknown>): Record<string, unknown> {
  const { [TRIGGER_FIELD]: _, ...rest } = payload;
  return rest;
}

/**
 * The identity of an attempt of `job`: attempt `attempt` (default: the one BullMQ started last),
 * triggered as its payload says, else by `trigger`, else `cron` for a repeatable job's run and
 * `api` for any other.
 */
export function attemptIdentity(
  job: JobFields,
  options: { attempt?: number; trigger?: Trigger } = {},
): AttemptIdentity {
  return {
    queueName: job.queueName,
    jobId: auditJobId(String(job.id), job.timestamp),
    attempt: options.attempt ?? Math.max(1, job.attemptsStarted),
    workspaceId: workspaceOf(job.data),
    triggeredBy: triggerOf(job.data, options.trigger ?? (job.repeatJobKey ? 'cron' : 'api')),
  };
}
