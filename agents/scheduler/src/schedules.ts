import type { QueueName } from '@fleet/catalog';
import { CronExpressionParser } from 'cron-parser';

/**
 * The fleet's periodic work, one entry per schedule. The names are fixed (each one knows its
 * target job and how it fans out); configuration changes only when and whether they run.
 */
export const SCHEDULE_NAMES = [
  'continuous_intelligence',
  'email_sync',
  'lead_scoring',
  'contact_enrichment',
  'daily_analytics_rollup',
  'weekly_report',
  'monthly_summary',
  'campaign_optimization',
  'social_media_posting',
  'system_health_check',
  'data_cleanup',
  'content_calendar_sync',
] as const;

export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

/**
 * Who gets a job on each tick: every active workspace, every active mail account or content
 * calendar (CalDAV connection) of an active workspace, or one fleet-wide job without a workspace.
 */
export type FanOutTarget = 'workspaces' | 'mail_accounts' | 'content_calendars' | 'fleet';

/**
 * What happens when a tick comes while the previous tick's job for the same target is still
 * waiting or running. `skip`: the new tick adds nothing (incremental work, the running job will
 * pick up whatever is new). `queue`: every slot is its own piece of work (a report for a given
 * period), so it is queued behind.
 */
export type OverlapPolicy = 'skip' | 'queue';

export interface ScheduleTarget {
  queue: QueueName;
  job: string;
  fanOut: FanOutTarget;
  overlap: OverlapPolicy;
}

/** When a schedule fires: a cron pattern (5 or 6 fields, in `tz`) or a fixed interval. */
export type ScheduleTiming = { cron: string; everyMs?: undefined } | { everyMs: number; cron?: undefined };

export interface Schedule extends ScheduleTarget {
  name: ScheduleName;
  timing: ScheduleTiming;
  /** IANA time zone the cron pattern is read in. */
  tz: string;
  enabled: boolean;
}

export const SCHEDULE_TARGETS: Record<ScheduleName, ScheduleTarget> = {
  continuous_intelligence: {
    queue: 'continuous_intelligence_queue',
    job: 'continuous_intelligence_update',
    fanOut: 'workspaces',
    overlap: 'skip',
  },
  email_sync: { queue: 'email_integration_queue', job: 'email_sync', fanOut: 'mail_accounts', overlap: 'skip' },
  lead_scoring: {
    queue: 'contact_intelligence_queue',
    job: 'lead_scoring_batch',
    fanOut: 'workspaces',
    overlap: 'skip',
  },
  contact_enrichment: {
    queue: 'contact_intelligence_queue',
    job: 'contact_enrichment',
    fanOut: 'workspaces',
    overlap: 'skip',
  },
  daily_analytics_rollup: {
    queue: 'analytics_queue',
    job: 'daily_analytics_rollup',
    fanOut: 'workspaces',
    overlap: 'queue',
  },
  weekly_report: { queue: 'analytics_queue', job: 'weekly_report_generation', fanOut: 'workspaces', overlap: 'queue' },
  monthly_summary: { queue: 'analytics_queue', job: 'monthly_summary', fanOut: 'workspaces', overlap: 'queue' },
  campaign_optimization: {
    queue: 'analytics_queue',
    job: 'campaign_optimization',
    fanOut: 'workspaces',
    overlap: 'skip',
  },
  social_media_posting: {
    queue: 'social_media_queue',
    job: 'social_media_posting',
    fanOut: 'workspaces',
    overlap: 'skip',
  },
  system_health_check: { queue: 'maintenance_queue', job: 'system_health_check', fanOut: 'fleet', overlap: 'skip' },
  data_cleanup: { queue: 'maintenance_queue', job: 'data_cleanup', fanOut: 'fleet', overlap: 'skip' },
  content_calendar_sync: {
    queue: 'content_calendar_queue',
    job: 'content_calendar_sync',
    fanOut: 'content_calendars',
    overlap: 'skip',
  },
};

/**
 * Default timings, from the seed's frequencies. Daily and longer jobs run in the early morning
 * (of SCHEDULER_TZ), staggered so they do not all start in the same minute; the analytics
 * rollup runs after midnight so "yesterday" is complete.
 */
export const DEFAULT_CRON: Record<ScheduleName, string> = {
  continuous_intelligence: '*/30 * * * *',
  email_sync: '0 */6 * * *',
  lead_scoring: '0 2 * * *',
  contact_enrichment: '0 3 * * 0',
  daily_analytics_rollup: '15 0 * * *',
  weekly_report: '0 6 * * 1',
  monthly_summary: '0 7 1 * *',
  campaign_optimization: '30 4 * * *',
  social_media_posting: '*/5 * * * *',
  system_health_check: '*/5 * * * *',
  data_cleanup: '30 3 * * *',
  // Posts are planned to the minute; a calendar edit reaches the workspace within 15 minutes.
  content_calendar_sync: '*/15 * * * *',
};

/** One schedule's overrides, as read from SCHEDULES_JSON or SCHEDULE_<NAME>_CRON. */
export interface ScheduleOverride {
  cron?: string;
  every_ms?: number;
  tz?: string;
  enabled?: boolean;
}

/** Returns an error message when `tz` is not an IANA time zone this Node knows. */
export function timeZoneProblem(tz: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return undefined;
  } catch {
    return `"${tz}" is not a known IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)`;
  }
}

/** Returns an error message when `pattern` is not a cron expression BullMQ can run. */
export function cronProblem(pattern: string, tz = 'UTC'): string | undefined {
  const fields = pattern.trim().split(/\s+/).length;
  if (fields < 5 || fields > 6)
    return `"${pattern}" must have 5 fields (minute hour day month weekday) or 6 (seconds first)`;
  try {
    CronExpressionParser.parse(pattern, { tz });
    return undefined;
  } catch (error) {
    return `"${pattern}" is not a valid cron expression: ${(error as Error).message}`;
  }
}

/** The word that disables a schedule in SCHEDULE_<NAME>_CRON. */
export const DISABLED = 'off';

/** SCHEDULE_<NAME>_CRON, e.g. SCHEDULE_EMAIL_SYNC_CRON. */
export function cronEnvName(name: ScheduleName): string {
  return `SCHEDULE_${name.toUpperCase()}_CRON`;
}

export class ScheduleConfigError extends Error {
  override name = 'ScheduleConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid schedule configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/**
 * Builds the schedule list: defaults, then SCHEDULES_JSON overrides, then per-schedule cron
 * variables. Throws ScheduleConfigError listing every problem (unknown schedule names, bad
 * cron patterns, bad time zones, both cron and every_ms).
 */
export function buildSchedules(options: {
  tz: string;
  overrides?: Record<string, ScheduleOverride>;
  cronVars?: Partial<Record<ScheduleName, string>>;
}): Schedule[] {
  const problems: string[] = [];
  const tzProblem = timeZoneProblem(options.tz);
  if (tzProblem) problems.push(`SCHEDULER_TZ: ${tzProblem}`);
  const overrides = options.overrides ?? {};
  for (const key of Object.keys(overrides)) {
    if (!(SCHEDULE_NAMES as readonly string[]).includes(key)) {
      problems.push(`SCHEDULES_JSON.${key}: unknown schedule; known: ${SCHEDULE_NAMES.join(', ')}`);
    }
  }

  const schedules = SCHEDULE_NAMES.map((name): Schedule => {
    const o = Object.hasOwn(overrides, name) ? overrides[name]! : {};
    const where = `SCHEDULES_JSON.${name}`;
    const tz = o.tz ?? options.tz;
    if (o.tz !== undefined) {
      const p = timeZoneProblem(o.tz);
      if (p) problems.push(`${where}.tz: ${p}`);
    }
    let timing: ScheduleTiming = { cron: DEFAULT_CRON[name] };
    let enabled = o.enabled ?? true;
    if (o.cron !== undefined && o.every_ms !== undefined) {
      problems.push(`${where}: set either cron or every_ms, not both`);
    } else if (o.cron !== undefined) {
      const p = cronProblem(o.cron);
      if (p) problems.push(`${where}.cron: ${p}`);
      timing = { cron: o.cron };
    } else if (o.every_ms !== undefined) {
      timing = { everyMs: o.every_ms };
    }
    const fromVar = options.cronVars?.[name]?.trim();
    if (fromVar) {
      if (fromVar.toLowerCase() === DISABLED) {
        enabled = false;
      } else {
        const p = cronProblem(fromVar);
        if (p) problems.push(`${cronEnvName(name)}: ${p} (or "${DISABLED}" to disable)`);
        timing = { cron: fromVar };
      }
    }
    return { name, ...SCHEDULE_TARGETS[name], timing, tz, enabled };
  });
  if (problems.length > 0) throw new ScheduleConfigError(problems);
  return schedules;
}

/** A one-line description for logs and the README, e.g. "*\/30 * * * * (UTC)". */
export function describeTiming(s: Schedule): string {
  return s.timing.cron !== undefined ? `${s.timing.cron} (${s.tz})` : `every ${s.timing.everyMs} ms`;
}
