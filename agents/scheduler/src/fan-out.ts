import { PayloadValidationError } from '@fleet/catalog';
import type { Database, JsonObject } from '@fleet/db';
import type { Producer } from '@fleet/queues';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { isValidTimeZone, previousDay, previousMonth, previousWeekStart } from './periods.ts';
import type { Schedule } from './schedules.ts';

/** One recipient of a scheduled job. */
export interface Target {
  /** Unique within the schedule: workspace id, mail account id, content calendar id, or 'fleet'. */
  key: string;
  workspaceId: string | null;
  accountId?: string;
  calendarId?: string;
  timezone: string;
}

export interface FanOutResult {
  schedule: string;
  /** The tick's slot (its scheduled time), ISO 8601. */
  slot: string;
  targets: number;
  /** Jobs added by this call. */
  created: number;
  /** Targets whose job for this slot already existed (an earlier run of the same tick). */
  existing: number;
  /** Targets skipped because their previous job is still waiting or running (overlap: skip). */
  overlapping: number;
  /** Targets whose job could not be added; `retryable` is false for payloads the catalog rejects. */
  failed: { target: string; error: string; retryable: boolean }[];
}

export interface FanOutOptions {
  log?: Logger;
  /** Jobs added to Redis at once. */
  concurrency?: number;
  /** Rows read per query. */
  pageSize?: number;
  signal?: AbortSignal;
}

/**
 * The job id of `schedule`'s job for `target` in `slot`. Deterministic, so a tick that runs twice
 * (a retry, a second replica) finds its jobs instead of adding them again. BullMQ ids may not
 * contain ':'.
 */
export function fanOutJobId(schedule: string, slot: number, targetKey: string): string {
  return `sched-${schedule}-${slot}-${targetKey}`;
}

/** Deduplication id shared by all slots: only one job per schedule and target in flight. */
export function overlapKey(schedule: string, targetKey: string): string {
  return `sched:${schedule}:${targetKey}`;
}

/** Pages of targets, in id order (keyset pagination: stable while rows come and go). */
async function* targetPages(db: Kysely<Database>, schedule: Schedule, pageSize: number): AsyncGenerator<Target[]> {
  if (schedule.fanOut === 'fleet') {
    yield [{ key: 'fleet', workspaceId: null, timezone: schedule.tz }];
    return;
  }
  let after: string | null = null;
  for (;;) {
    let rows: Target[];
    if (schedule.fanOut === 'workspaces') {
      let q = db
        .selectFrom('workspaces')
        .select(['id', 'timezone'])
        .where('is_active', '=', true)
        .orderBy('id')
        .limit(pageSize);
      if (after) q = q.where('id', '>', after);
      rows = (await q.execute()).map((w) => ({ key: w.id, workspaceId: w.id, timezone: w.timezone }));
    } else if (schedule.fanOut === 'content_calendars') {
      let q = db
        .selectFrom('content_calendars as c')
        .innerJoin('workspaces as w', 'w.id', 'c.workspace_id')
        .select(['c.id', 'c.workspace_id', 'w.timezone'])
        .where('c.is_active', '=', true)
        .where('w.is_active', '=', true)
        .orderBy('c.id')
        .limit(pageSize);
      if (after) q = q.where('c.id', '>', after);
      rows = (await q.execute()).map((c) => ({
        key: c.id,
        workspaceId: c.workspace_id,
        calendarId: c.id,
        timezone: c.timezone,
      }));
    } else {
      let q = db
        .selectFrom('mail_accounts as a')
        .innerJoin('workspaces as w', 'w.id', 'a.workspace_id')
        .select(['a.id', 'a.workspace_id', 'w.timezone'])
        .where('a.is_active', '=', true)
        .where('w.is_active', '=', true)
        .orderBy('a.id')
        .limit(pageSize);
      if (after) q = q.where('a.id', '>', after);
      rows = (await q.execute()).map((a) => ({
        key: a.id,
        workspaceId: a.workspace_id,
        accountId: a.id,
        timezone: a.timezone,
      }));
    }
    if (rows.length > 0) yield rows;
    if (rows.length < pageSize) return;
    after = rows[rows.length - 1]!.key;
  }
}

/**
 * The payload of `schedule`'s job for `target`. Report jobs name their period, computed from
 * the slot in the workspace's time zone, so a late run still covers the period its tick meant.
 */
export function payloadFor(schedule: Schedule, target: Target, slot: number): JsonObject {
  const ws: JsonObject = target.workspaceId ? { workspace_id: target.workspaceId } : {};
  const tz = isValidTimeZone(target.timezone) ? target.timezone : 'UTC';
  const at = new Date(slot);
  switch (schedule.name) {
    case 'email_sync':
      return { ...ws, account_id: target.accountId! };
    case 'content_calendar_sync':
      return { ...ws, calendar_id: target.calendarId! };
    case 'daily_analytics_rollup':
      return { ...ws, date: previousDay(at, tz) };
    case 'weekly_report':
      return { ...ws, week_start: previousWeekStart(at, tz) };
    case 'monthly_summary':
      return { ...ws, month: previousMonth(at, tz) };
    case 'campaign_optimization':
      // As of the tick, so a late run analyses the window the tick meant.
      return { ...ws, as_of: at.toISOString() };
    default:
      return ws;
  }
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(lanes);
}

/**
 * Adds one job of `schedule` per target for the tick `slot` (ms since epoch), through the
 * producer, so each new job gets its `pending` audit row with triggered_by 'cron'.
 * Running it again for the same slot adds nothing: job ids are deterministic per
 * schedule+slot+target. Failures of single targets are collected, not thrown.
 */
export async function fanOut(
  db: Kysely<Database>,
  producer: Producer,
  schedule: Schedule,
  slot: number,
  options: FanOutOptions = {},
): Promise<FanOutResult> {
  const result: FanOutResult = {
    schedule: schedule.name,
    slot: new Date(slot).toISOString(),
    targets: 0,
    created: 0,
    existing: 0,
    overlapping: 0,
    failed: [],
  };
  const queue = producer.queue(schedule.queue);
  for await (const page of targetPages(db, schedule, options.pageSize ?? 500)) {
    options.signal?.throwIfAborted();
    result.targets += page.length;
    await eachLimited(page, options.concurrency ?? 25, async (target) => {
      const jobId = fanOutJobId(schedule.name, slot, target.key);
      try {
        // The producer cannot tell a re-added id from a new job, so look first. Two ticks of one
        // slot racing past this check still add one job: BullMQ ignores an existing id.
        if ((await queue.getJobState(jobId)) !== 'unknown') {
          result.existing++;
          return;
        }
        const added = await producer.enqueueRaw(schedule.queue, schedule.job, payloadFor(schedule, target, slot), {
          jobId,
          triggeredBy: 'cron',
          ...(schedule.overlap === 'skip' ? { deduplicationId: overlapKey(schedule.name, target.key) } : {}),
        });
        if (added.created) result.created++;
        else result.overlapping++;
      } catch (error) {
        result.failed.push({
          target: target.key,
          error: (error as Error).message,
          retryable: !(error instanceof PayloadValidationError),
        });
      }
    });
  }
  if (result.failed.length > 0) {
    options.log?.warn(
      { schedule: schedule.name, failed: result.failed.length, first: result.failed[0] },
      'fan-out: some jobs could not be added',
    );
  }
  return result;
}
