import type { JobSchedulerJson, Queue } from 'bullmq';
import type { Schedule, ScheduleName } from './schedules.ts';

/**
 * Internal queue holding the job schedulers. Its jobs are ticks (control events), not agent
 * work: they never get audit rows; the jobs they fan out do.
 */
export const TICK_QUEUE = 'fleet_schedule_ticks';
export const TICK_JOB_NAME = 'tick';

/**
 * Bumped when the tick template (data or options) changes shape, so a deploy rewrites every
 * scheduler even if its timing did not change.
 */
const TEMPLATE_VERSION = 1;

export interface TickData {
  schedule: ScheduleName;
  v: number;
}

/** Ticks retry (fan-out is idempotent per slot) and leave a short history behind. */
const TICK_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { age: 24 * 3600, count: 1_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 1_000 },
};

export interface ReconcileResult {
  created: ScheduleName[];
  updated: ScheduleName[];
  unchanged: ScheduleName[];
  /** Scheduler ids found in Redis that the configuration no longer has (or disables). */
  removed: string[];
}

function repeatOptions(s: Schedule): { pattern: string; tz: string } | { every: number } {
  return s.timing.cron !== undefined ? { pattern: s.timing.cron, tz: s.tz } : { every: s.timing.everyMs };
}

function matches(existing: JobSchedulerJson<TickData>, s: Schedule): boolean {
  const want = repeatOptions(s);
  const data = existing.template?.data;
  const sameTiming =
    'pattern' in want
      ? existing.pattern === want.pattern && existing.tz === want.tz && !existing.every
      : Number(existing.every) === want.every && !existing.pattern;
  return sameTiming && existing.name === TICK_JOB_NAME && data?.schedule === s.name && data?.v === TEMPLATE_VERSION;
}

/** Every job scheduler on the tick queue, however many there are. */
export async function listSchedulers(queue: Queue): Promise<JobSchedulerJson<TickData>[]> {
  const all: JobSchedulerJson<TickData>[] = [];
  const page = 500;
  for (let start = 0; ; start += page) {
    const batch = (await queue.getJobSchedulers(start, start + page - 1, true)) as JobSchedulerJson<TickData>[];
    all.push(...batch);
    if (batch.length < page) return all;
  }
}

/**
 * Makes the job schedulers in Redis match `schedules`: creates the missing ones, rewrites the
 * ones whose timing changed, leaves identical ones alone and removes those no longer enabled.
 *
 * Safe to run from several processes at once: `upsertJobScheduler` is one atomic script keyed
 * by the scheduler id, and each iteration's job id is `repeat:<id>:<millis>`, so concurrent
 * upserts of the same configuration converge on one scheduler with one pending tick.
 */
export async function reconcileSchedules(queue: Queue, schedules: Schedule[]): Promise<ReconcileResult> {
  const result: ReconcileResult = { created: [], updated: [], unchanged: [], removed: [] };
  const existing = new Map((await listSchedulers(queue)).map((s) => [s.key, s]));
  const enabled = schedules.filter((s) => s.enabled);
  for (const s of enabled) {
    const current = existing.get(s.name);
    if (current && matches(current, s)) {
      result.unchanged.push(s.name);
      continue;
    }
    const data: TickData = { schedule: s.name, v: TEMPLATE_VERSION };
    await queue.upsertJobScheduler(s.name, repeatOptions(s), { name: TICK_JOB_NAME, data, opts: TICK_OPTIONS });
    (current ? result.updated : result.created).push(s.name);
  }
  const wanted = new Set(enabled.map((s) => s.name as string));
  for (const key of existing.keys()) {
    if (wanted.has(key)) continue;
    await queue.removeJobScheduler(key);
    result.removed.push(key);
  }
  return result;
}
