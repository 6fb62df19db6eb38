/**
 * The job catalog: every queue of the fleet, the jobs it carries, their payload schemas and
 * default options. Producers and workers import the same definitions, so a payload accepted by
 * `enqueue()` is exactly a payload the worker accepts.
 */
import type { TaskType } from '@fleet/db';
import type { JobsOptions } from 'bullmq';
import type { z } from 'zod';
import {
  campaignOptimizationPayload,
  dailyAnalyticsRollupPayload,
  monthlySummaryPayload,
  weeklyReportPayload,
} from './jobs/analytics.ts';
import { contactEnrichmentPayload, leadScoringBatchPayload } from './jobs/contact-intelligence.ts';
import { contentCalendarSyncPayload } from './jobs/content-calendar.ts';
import { continuousIntelligencePayload } from './jobs/continuous-intelligence.ts';
import { emailSyncPayload } from './jobs/email-integration.ts';
import { dataCleanupPayload, systemHealthCheckPayload } from './jobs/maintenance.ts';
import { mediaTranscriptionPayload } from './jobs/media-transcription.ts';
import { socialMediaPostingPayload } from './jobs/social-media.ts';

/**
 * Who may run a job, and how far its effects reach (docs/security.md):
 * - `workspace`: the job works on the one workspace its payload's `workspace_id` names and every
 *   row it reads or writes belongs to that workspace. Anyone with access to that workspace may
 *   enqueue it. Where the schema lets `workspace_id` be omitted (a run over every workspace),
 *   such a payload is an operator's.
 * - `fleet`: the job reads or changes the whole fleet (health figures, retention); operators only.
 */
export type JobScope = 'workspace' | 'fleet';

export interface JobDefinition<P extends z.ZodType = z.ZodType> {
  /** autonomous_tasks.task_type of every attempt of this job. */
  taskType: TaskType;
  scope: JobScope;
  /** Validates the payload (job.data) in the producer and again in the worker. */
  payload: P;
  description: string;
  /** Overrides of the queue's default job options. */
  options?: JobsOptions;
}

export interface QueueDefinition<J extends Record<string, JobDefinition> = Record<string, JobDefinition>> {
  /** The agent (deployable) that consumes this queue. */
  agent: string;
  description: string;
  jobs: J;
  /** Default BullMQ options for every job added through the client. */
  defaultJobOptions: JobsOptions;
  /** Reject payloads whose JSON is larger than this many bytes. */
  maxPayloadBytes: number;
}

const KEEP_COMPLETED = { age: 24 * 3600, count: 5_000 };
const KEEP_FAILED = { age: 7 * 24 * 3600, count: 10_000 };

const standardOptions: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: KEEP_COMPLETED,
  removeOnFail: KEEP_FAILED,
};

function defineQueue<J extends Record<string, JobDefinition>>(q: QueueDefinition<J>): QueueDefinition<J> {
  return q;
}

export const catalog = {
  contact_intelligence_queue: defineQueue({
    agent: 'contact-intelligence',
    description: 'Lead scoring and contact enrichment.',
    defaultJobOptions: standardOptions,
    maxPayloadBytes: 512 * 1024,
    jobs: {
      lead_scoring_batch: {
        taskType: 'lead_scoring_batch',
        scope: 'workspace',
        payload: leadScoringBatchPayload,
        description: 'Score contacts 0-100 with an explainable factor breakdown and a hot/warm/cold tier.',
      },
      contact_enrichment: {
        taskType: 'contact_enrichment',
        scope: 'workspace',
        payload: contactEnrichmentPayload,
        description: 'Derive names, company, phone and duplicates; call the enrichment provider when configured.',
      },
    },
  }),
  analytics_queue: defineQueue({
    agent: 'analytics',
    description: 'Daily rollups, weekly/monthly reports and campaign optimization.',
    defaultJobOptions: standardOptions,
    maxPayloadBytes: 16 * 1024,
    jobs: {
      daily_analytics_rollup: {
        taskType: 'daily_analytics_rollup',
        scope: 'workspace',
        payload: dailyAnalyticsRollupPayload,
        description: "Roll up one day's metrics for a workspace, in its time zone.",
      },
      weekly_report_generation: {
        taskType: 'weekly_report_generation',
        scope: 'workspace',
        payload: weeklyReportPayload,
        description: 'Weekly report with week-over-week deltas and highlights.',
      },
      monthly_summary: {
        taskType: 'monthly_summary',
        scope: 'workspace',
        payload: monthlySummaryPayload,
        description: 'Monthly summary with month-over-month deltas and highlights.',
      },
      campaign_optimization: {
        taskType: 'campaign_optimization',
        scope: 'workspace',
        payload: campaignOptimizationPayload,
        description:
          'Best send time per workspace and segment, A/B results with significance tests, fatigue, and recommendations.',
      },
    },
  }),
  email_integration_queue: defineQueue({
    agent: 'email-integration',
    description: 'Mailbox synchronisation (Gmail).',
    defaultJobOptions: standardOptions,
    maxPayloadBytes: 16 * 1024,
    jobs: {
      email_sync: {
        taskType: 'email_sync',
        scope: 'workspace',
        payload: emailSyncPayload,
        description: 'Incremental (or full) sync of one mail account.',
      },
    },
  }),
  continuous_intelligence_queue: defineQueue({
    agent: 'continuous-intelligence',
    description: 'Insight extraction from new emails.',
    defaultJobOptions: standardOptions,
    maxPayloadBytes: 16 * 1024,
    jobs: {
      continuous_intelligence_update: {
        taskType: 'continuous_intelligence_update',
        scope: 'workspace',
        payload: continuousIntelligencePayload,
        description: 'Extract intent, sentiment, urgency, action items and entities from unprocessed emails.',
      },
    },
  }),
  media_transcription_queue: defineQueue({
    agent: 'media-transcription',
    description: 'Audio/video transcription.',
    defaultJobOptions: { ...standardOptions, attempts: 2, backoff: { type: 'exponential', delay: 10_000 } },
    maxPayloadBytes: 16 * 1024,
    jobs: {
      media_transcription: {
        taskType: 'media_transcription',
        scope: 'workspace',
        payload: mediaTranscriptionPayload,
        description: 'Transcribe one media file with timestamps.',
      },
    },
  }),
  content_calendar_queue: defineQueue({
    agent: 'content-calendar',
    description: 'Content calendar synchronisation with CalDAV calendars.',
    defaultJobOptions: standardOptions,
    maxPayloadBytes: 16 * 1024,
    jobs: {
      content_calendar_sync: {
        taskType: 'content_calendar_sync',
        scope: 'workspace',
        payload: contentCalendarSyncPayload,
        description:
          'Two-way sync of the content calendar with one CalDAV calendar: sync token or ETags, time zones, recurrence, deletions.',
      },
    },
  }),
  social_media_queue: defineQueue({
    agent: 'social-publisher',
    description: 'Publishing scheduled social posts (Mastodon, X).',
    // Every attempt is idempotent (publish-post.ts), so a timeout can safely be retried a few times.
    defaultJobOptions: { ...standardOptions, attempts: 5, backoff: { type: 'exponential', delay: 10_000 } },
    maxPayloadBytes: 16 * 1024,
    jobs: {
      social_media_posting: {
        taskType: 'social_media_posting',
        scope: 'workspace',
        payload: socialMediaPostingPayload,
        description:
          'Publish one scheduled post, or every post due (due content calendar posts included), to its Mastodon or X account, exactly once; rules checked first.',
      },
    },
  }),
  maintenance_queue: defineQueue({
    agent: 'scheduler',
    description: 'Fleet maintenance: health checks and data cleanup.',
    defaultJobOptions: { ...standardOptions, attempts: 2 },
    maxPayloadBytes: 16 * 1024,
    jobs: {
      system_health_check: {
        taskType: 'system_health_check',
        scope: 'fleet',
        payload: systemHealthCheckPayload,
        description: 'Check Postgres, Redis, queue backlogs and stuck rows.',
      },
      data_cleanup: {
        taskType: 'data_cleanup',
        scope: 'fleet',
        payload: dataCleanupPayload,
        description:
          'Delete old audit rows and expired idempotency keys in small batches and trim finished jobs; given a workspace_id, only that workspace’s rows and keys.',
      },
    },
  }),
} as const;

export type Catalog = typeof catalog;
export type QueueName = keyof Catalog;
export type JobName<Q extends QueueName> = keyof Catalog[Q]['jobs'] & string;
export type JobDef<Q extends QueueName, J extends JobName<Q>> = Catalog[Q]['jobs'][J];
/** The payload a producer passes (defaults may be omitted). */
export type PayloadInput<Q extends QueueName, J extends JobName<Q>> =
  JobDef<Q, J> extends JobDefinition<infer P> ? z.input<P> : never;
/** The payload a handler receives (defaults applied). */
export type Payload<Q extends QueueName, J extends JobName<Q>> =
  JobDef<Q, J> extends JobDefinition<infer P> ? z.output<P> : never;

export const QUEUE_NAMES = Object.keys(catalog) as QueueName[];

export function isQueueName(name: string): name is QueueName {
  return Object.hasOwn(catalog, name);
}

/** The job definitions of `queue` keyed by job name, as names from outside (strings) see them. */
function jobMap(queue: QueueName): Readonly<Record<string, JobDefinition>> {
  return catalog[queue].jobs;
}

/** The jobs of `queue` as [job name, definition] pairs, in catalog order. */
export function jobsOf(queue: QueueName): [string, JobDefinition][] {
  return Object.entries(jobMap(queue));
}

/** Looks up a job definition by names that came from outside (CLI, HTTP); undefined when unknown. */
export function findJob(queue: string, job: string): JobDefinition | undefined {
  if (!isQueueName(queue)) return undefined;
  const jobs = jobMap(queue);
  return Object.hasOwn(jobs, job) ? jobs[job] : undefined;
}

/**
 * The task type an attempt of `job` on `queue` is recorded as: the catalog's, or `unknown_job`
 * for a name the queue does not know (never one of the queue's real types, which would count a
 * typo as, say, a failed lead scoring run).
 */
export function taskTypeOf(queue: string, job: string): TaskType {
  return findJob(queue, job)?.taskType ?? 'unknown_job';
}
