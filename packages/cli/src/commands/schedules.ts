import { queueKeyPrefix } from '@fleet/queues';
import { Queue } from 'bullmq';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { explainConnectionError } from '../errors.ts';
import { formatTable } from '../output/table.ts';
import { formatTime } from '../output/values.ts';

/** The scheduler agent's internal queue: one BullMQ job scheduler per schedule, ticking here. */
export const SCHEDULE_TICKS_QUEUE = 'fleet_schedule_ticks';

/** One schedule, in the API's snake_case (what `--json` prints). */
export interface ScheduleRow {
  id: string;
  /** Cron pattern, or null for a fixed interval. */
  pattern: string | null;
  every_ms: number | null;
  tz: string | null;
  next: string | null;
  /** Ticks started so far. */
  runs: number | null;
  /** What each tick carries (the scheduler turns it into a catalog job). */
  data: unknown;
}

/**
 * BullMQ's iterationCount counts the jobs a scheduler has created, and it creates each next tick
 * in advance (the delayed job that `next` points at): while one is pending it is not a run yet.
 */
export function runsOf(iterationCount: number | undefined | null, next: number | undefined | null): number | null {
  if (iterationCount === undefined || iterationCount === null) return null;
  return Math.max(0, iterationCount - (next ? 1 : 0));
}

export async function listSchedules(ctx: CliContext): Promise<ScheduleRow[]> {
  const { QUEUE_PREFIX, REDIS } = ctx.env();
  await ctx.ensureRedis();
  const connection = ctx.redis();
  const queue = new Queue(SCHEDULE_TICKS_QUEUE, {
    connection,
    prefix: queueKeyPrefix(connection, QUEUE_PREFIX, SCHEDULE_TICKS_QUEUE),
  });
  queue.on('error', () => {});
  try {
    const schedulers = await queue.getJobSchedulers(0, -1, true);
    return schedulers.map((s) => ({
      id: s.id ?? s.key,
      pattern: s.pattern ?? null,
      every_ms: s.every ?? null,
      tz: s.tz ?? null,
      next: s.next ? new Date(s.next).toISOString() : null,
      runs: runsOf(s.iterationCount, s.next),
      data: s.template?.data ?? null,
    }));
  } catch (error) {
    throw explainConnectionError(error, 'Redis', REDIS);
  } finally {
    await queue.close().catch(() => {});
  }
}

export function registerSchedules(program: Command, ctx: () => CliContext): void {
  program
    .command('schedules')
    .description(`List recurring schedules (BullMQ job schedulers on the scheduler's ${SCHEDULE_TICKS_QUEUE} queue).`)
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      '\nSchedules are created by the scheduler agent at start; an empty list means it has not run yet.',
    )
    .action(async (opts: { json?: boolean }) => {
      const c = ctx();
      const rows = await listSchedules(c);
      if (opts.json) {
        c.io.stdout(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      if (rows.length === 0) {
        c.io.stdout('No schedules. The scheduler agent registers them when it starts (fleet up scheduler).\n');
        return;
      }
      c.io.stdout(
        `${formatTable(rows, [
          { header: 'ID', value: (r) => r.id },
          { header: 'WHEN', value: (r) => r.pattern ?? (r.every_ms ? `every ${r.every_ms / 1000}s` : null) },
          { header: 'TZ', value: (r) => r.tz },
          { header: 'NEXT', value: (r) => formatTime(r.next) },
          { header: 'RUNS', value: (r) => r.runs, align: 'right' },
        ])}\n`,
      );
    });
}
