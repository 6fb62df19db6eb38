import { describe, expect, it } from 'vitest';
import { previousDay, previousMonth, previousWeekStart } from '../src/periods.ts';
import { buildSchedules, DEFAULT_CRON, SCHEDULE_NAMES, ScheduleConfigError } from '../src/schedules.ts';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ScheduleConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ScheduleConfigError');
}

describe('schedule configuration', () => {
  it('defaults to the seed frequencies, all enabled, in the configured time zone', () => {
    const schedules = buildSchedules({ tz: 'Europe/Berlin' });
    expect(schedules.map((s) => s.name)).toEqual([...SCHEDULE_NAMES]);
    expect(schedules.every((s) => s.enabled && s.tz === 'Europe/Berlin')).toBe(true);
    const byName = Object.fromEntries(schedules.map((s) => [s.name, s]));
    expect(byName.continuous_intelligence!.timing).toEqual({ cron: '*/30 * * * *' });
    expect(byName.email_sync).toMatchObject({ queue: 'email_integration_queue', fanOut: 'mail_accounts' });
    expect(byName.system_health_check).toMatchObject({ queue: 'maintenance_queue', fanOut: 'fleet' });
    expect(byName.monthly_summary!.timing).toEqual({ cron: DEFAULT_CRON.monthly_summary });
  });

  it('applies SCHEDULES_JSON overrides, then per-schedule cron variables', () => {
    const schedules = buildSchedules({
      tz: 'UTC',
      overrides: {
        email_sync: { cron: '0 */4 * * *', tz: 'America/New_York' },
        continuous_intelligence: { every_ms: 60_000 },
        weekly_report: { enabled: false },
        lead_scoring: { cron: '0 1 * * *' },
      },
      cronVars: { lead_scoring: '0 5 * * *', data_cleanup: 'OFF' },
    });
    const byName = Object.fromEntries(schedules.map((s) => [s.name, s]));
    expect(byName.email_sync).toMatchObject({ timing: { cron: '0 */4 * * *' }, tz: 'America/New_York' });
    expect(byName.continuous_intelligence!.timing).toEqual({ everyMs: 60_000 });
    expect(byName.weekly_report!.enabled).toBe(false);
    expect(byName.lead_scoring!.timing).toEqual({ cron: '0 5 * * *' });
    expect(byName.data_cleanup!.enabled).toBe(false);
    expect(byName.monthly_summary!.enabled).toBe(true);
  });

  it('lists every problem at once, naming where it came from', () => {
    const problems = problemsOf(() =>
      buildSchedules({
        tz: 'Mars/Olympus',
        overrides: {
          emial_sync: { cron: '* * * * *' },
          lead_scoring: { cron: '61 * * * *' },
          weekly_report: { cron: '* * * * *', every_ms: 1000 },
          monthly_summary: { tz: 'Nowhere/City' },
        },
        cronVars: { data_cleanup: 'every day' },
      }),
    );
    expect(problems).toHaveLength(6);
    expect(problems.join('\n')).toMatch(/SCHEDULER_TZ: "Mars\/Olympus" is not a known IANA time zone/);
    expect(problems.join('\n')).toMatch(/SCHEDULES_JSON\.emial_sync: unknown schedule/);
    expect(problems.join('\n')).toMatch(/SCHEDULES_JSON\.lead_scoring\.cron: "61 \* \* \* \*" is not a valid cron/);
    expect(problems.join('\n')).toMatch(/SCHEDULES_JSON\.weekly_report: set either cron or every_ms/);
    expect(problems.join('\n')).toMatch(/SCHEDULES_JSON\.monthly_summary\.tz/);
    expect(problems.join('\n')).toMatch(/SCHEDULE_DATA_CLEANUP_CRON: "every day" must have 5 fields/);
  });
});

describe('report periods', () => {
  // 2025-03-03T01:30Z is Monday 01:30 in London, Monday 14:30 in Auckland, Sunday 17:30 in LA.
  const at = new Date('2025-03-03T01:30:00Z');

  it('yesterday is the day before the local day', () => {
    expect(previousDay(at, 'UTC')).toBe('2025-03-02');
    expect(previousDay(at, 'America/Los_Angeles')).toBe('2025-03-01');
    expect(previousDay(new Date('2024-03-01T12:00:00Z'), 'UTC')).toBe('2024-02-29');
  });

  it('last week starts on the Monday before the local week', () => {
    expect(previousWeekStart(at, 'UTC')).toBe('2025-02-24');
    // Still Sunday in Los Angeles: the local week began Monday 2025-02-24.
    expect(previousWeekStart(at, 'America/Los_Angeles')).toBe('2025-02-17');
  });

  it('last month is the month before the local month, across years', () => {
    expect(previousMonth(at, 'UTC')).toBe('2025-02');
    expect(previousMonth(new Date('2025-01-01T03:00:00Z'), 'UTC')).toBe('2024-12');
    expect(previousMonth(new Date('2025-01-01T03:00:00Z'), 'America/Los_Angeles')).toBe('2024-11');
  });
});
