/**
 * The JSON shapes of the HTTP API as zod schemas: the routes declare them (fastify validates the
 * request bodies with them) and the OpenAPI document is generated from the routes, so what is
 * documented is what is checked. Response shapes are those of @fleet/ops's present*() functions
 * after JSON serialisation (times as ISO strings).
 */

import { QUEUE_NAMES } from '@fleet/catalog';
import { TASK_STATUSES, TASK_TYPES } from '@fleet/db';
import { z } from 'zod';

// ---- requests ----------------------------------------------------------------------------

/** Body of POST /v1/jobs/{queue}/{job}: the envelope (the payload is the catalog job's schema). */
export const enqueueBodySchema = z.strictObject({
  payload: z
    .record(z.string(), z.unknown(), { error: 'must be a JSON object (the job payload)' })
    .meta({ description: 'The job payload; its schema is the catalog job’s.' }),
  delay_ms: z
    .number({ error: 'must be a number of milliseconds' })
    .int('must be a whole number')
    .optional()
    .meta({ description: 'Run no earlier than this many milliseconds from now (at most a year).' }),
  priority: z
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .optional()
    .meta({ description: '1 (highest) .. 2,097,152.' }),
  idempotency_key: z.string().optional().meta({ description: 'Same as the Idempotency-Key header.' }),
});

/** The envelope with `payload` replaced by one job's payload schema (what the document shows). */
export function enqueueBodyFor(payload: z.ZodType) {
  return enqueueBodySchema.extend({ payload });
}

export const enqueueHeadersSchema = z.object({
  'idempotency-key': z
    .string()
    .max(200)
    .optional()
    .meta({ description: 'A repeated key returns the first task (200) and never adds a second job.' }),
});

export const cancelBodySchema = z
  .strictObject({
    reason: z
      .string()
      .min(1)
      .max(500, 'must be at most 500 characters')
      .optional()
      .meta({ description: 'Recorded in the cancelled row’s error_message.' }),
  })
  .optional();

/** POST /v1/tasks/{id}/retry takes no body (an empty object at most). */
export const retryBodySchema = z.strictObject({}).optional();

/** Body of POST /v1/api-keys (admin only). */
export const createKeyBodySchema = z.strictObject({
  name: z
    .string({ error: 'must be a string of 1-200 characters' })
    .min(1, 'must be 1-200 characters')
    .max(200, 'must be 1-200 characters')
    .meta({ description: 'What the key is for, e.g. "billing service"; shown in listings.' }),
  workspace_ids: z
    .array(z.uuid({ error: 'must be a workspace UUID' }), { error: 'must be a list of workspace UUIDs' })
    .min(1, 'must list at least one workspace')
    .meta({ description: 'The workspaces the key may read and enqueue for.' }),
});

export const idParamsSchema = z.object({
  id: z.string().meta({ description: 'Audit row id or BullMQ job id.' }),
});

export const keyIdParamsSchema = z.object({
  id: z.string().meta({ description: 'Key id or prefix.' }),
});

export const queueQuerySchema = z.strictObject({
  queue: z
    .enum(QUEUE_NAMES)
    .optional()
    .meta({ description: 'Narrows a job-id lookup to one queue (job ids are unique per queue only).' }),
});

export const summaryQuerySchema = z.strictObject({
  workspace_id: z.uuid(),
  task_type: z.enum(TASK_TYPES).optional(),
  hours: z.coerce.number().int().min(1).max(8784).default(24),
});

export const noQuerySchema = z.strictObject({});

// ---- responses ---------------------------------------------------------------------------

const isoTime = z.iso.datetime({ offset: true });
const json = z.unknown();
const jsonObject = z.record(z.string(), z.unknown());

export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'Machine-readable, e.g. invalid_input, forbidden, not_found.' }),
      message: z.string(),
      fields: z
        .array(z.object({ field: z.string(), message: z.string() }))
        .optional()
        .meta({ description: 'Every bad field of the request, when the input was refused.' }),
    }),
  })
  .meta({ id: 'Error', description: 'Every error: `{ error: { code, message, fields? } }`.' });

/** One row of autonomous_tasks. */
export const taskSchema = z
  .object({
    id: z.uuid(),
    workspace_id: z.uuid().nullable(),
    task_type: z.enum(TASK_TYPES),
    status: z.enum(TASK_STATUSES),
    input_data: jsonObject,
    output_data: jsonObject,
    error_message: z.string().nullable(),
    executed_at: isoTime,
    completed_at: isoTime.nullable(),
    duration_ms: z.number().nullable(),
    triggered_by: z.string(),
    agent_name: z.string().nullable(),
    cost_estimate_usd: z.string().meta({ description: 'Exact decimal, as a string.' }),
    created_at: isoTime,
    updated_at: isoTime,
    queue_name: z.string().nullable(),
    job_id: z.string().nullable(),
    attempt: z.number().int().nullable(),
  })
  .meta({ id: 'Task', description: 'One execution attempt: a row of autonomous_tasks.' });

export const taskPageSchema = z.object({
  tasks: z.array(taskSchema),
  next_cursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last.' }),
});

export const jobSchema = z.object({
  queue: z.string(),
  id: z.string(),
  name: z.string(),
  state: z.string(),
  attempts_started: z.number().int(),
  attempts_made: z.number().int(),
  max_attempts: z.number().int(),
  failed_reason: z.string().nullable(),
  progress: json,
  delay_ms: z.number(),
  priority: z.number(),
  created_at: isoTime,
  processed_at: isoTime.nullable(),
  finished_at: isoTime.nullable(),
});

export const taskDetailSchema = z.object({
  task: taskSchema.nullable().meta({ description: 'Null while the job has no audit row yet.' }),
  attempts: z.array(taskSchema).meta({ description: 'Every attempt of the job, oldest first.' }),
  queue: z.string(),
  job_id: z.string(),
  job: jobSchema.nullable().meta({ description: 'The job’s live state in Redis; null once it left.' }),
  payload: json,
});

export const enqueuedSchema = z
  .object({
    task_id: z.uuid().nullable().meta({ description: 'Audit row of the first attempt.' }),
    job_id: z.string(),
    queue: z.string(),
    job: z.string(),
    created: z.boolean().meta({ description: 'False when an idempotency key returned an earlier job.' }),
    status: z.string(),
    status_url: z.string().meta({ description: 'Poll this for the task’s state.' }),
  })
  .meta({ id: 'Enqueued' });

export const cancelResultSchema = z.object({
  outcome: z.enum(['cancelled', 'pending']),
  action: z.enum(['removed', 'closed', 'aborted', 'marked']),
  queue: z.string(),
  job_id: z.string(),
  attempt: z.number().int(),
  receivers: z.number().int().optional().meta({ description: 'Worker processes that heard the cancel.' }),
  message: z.string(),
});

export const retryResultSchema = z.object({
  action: z.enum(['retried', 'requeued']),
  queue: z.string(),
  job_id: z.string(),
  previous_job_id: z.string().optional().meta({ description: 'When requeued: the finished job.' }),
  status_url: z.string(),
});

export const summaryResponseSchema = z.object({
  workspace_id: z.uuid(),
  task_type: z.string().nullable(),
  hours: z.number().int(),
  summary: z.array(
    z.object({
      task_type: z.string(),
      total_executions: z.number().int(),
      successful_executions: z.number().int(),
      failed_executions: z.number().int(),
      avg_duration_ms: z.number().nullable(),
      total_cost_usd: z.string(),
      last_execution: isoTime.nullable(),
    }),
  ),
});

const rate = z.number().nullable();
export const statsSchema = z.object({
  filters: z.object({
    workspace_id: z.uuid().optional(),
    task_type: z.string().optional(),
    status: z.string().optional(),
    hours: z.number().int(),
    stuck_minutes: z.number().int(),
  }),
  generatedAt: isoTime,
  totals: z.object({
    total: z.number(),
    completed: z.number(),
    failed: z.number(),
    cancelled: z.number(),
    running: z.number(),
    pending: z.number(),
    successRate: rate,
    failureRate: rate,
    avgDurationMs: rate,
    p95DurationMs: rate,
    costUsd: z.string(),
  }),
  byType: z.array(
    z.object({
      taskType: z.string(),
      total: z.number(),
      completed: z.number(),
      failed: z.number(),
      avgDurationMs: rate,
      p95DurationMs: rate,
      costUsd: z.string(),
    }),
  ),
  costByDay: z.array(z.object({ day: z.string(), costUsd: z.string(), total: z.number() })),
  throughputBucket: z.enum(['hour', 'day']),
  throughput: z.array(z.object({ at: isoTime, completed: z.number(), failed: z.number() })),
  stuck: z.array(
    z.object({
      id: z.string(),
      taskType: z.string(),
      queueName: z.string().nullable(),
      jobId: z.string().nullable(),
      executedAt: isoTime,
      agentName: z.string().nullable(),
      workspaceId: z.string().nullable(),
    }),
  ),
  failures: z.array(
    z.object({
      id: z.string(),
      taskType: z.string(),
      status: z.string(),
      errorMessage: z.string().nullable(),
      executedAt: isoTime,
      jobId: z.string().nullable(),
      queueName: z.string().nullable(),
      workspaceId: z.string().nullable(),
    }),
  ),
});

export const queuesSchema = z.object({
  queues: z.array(
    z.object({
      queue: z.string(),
      agent: z.string(),
      waiting: z.number().int(),
      active: z.number().int(),
      delayed: z.number().int(),
      failed: z.number().int(),
      prioritized: z.number().int(),
      completed: z.number().int(),
      oldest_waiting_ms: z.number().nullable(),
      is_paused: z.boolean(),
    }),
  ),
});

export const apiKeySchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    key_prefix: z.string().meta({ description: 'Identifies the key in listings; `fleet_` and 8 hex digits.' }),
    workspace_ids: z.array(z.uuid()),
    created_at: isoTime,
    last_used_at: isoTime.nullable(),
    revoked_at: isoTime.nullable(),
  })
  .meta({ id: 'ApiKey' });

export const createdApiKeySchema = apiKeySchema
  .extend({ key: z.string().meta({ description: 'The key itself; shown only once.' }) })
  .meta({ id: 'CreatedApiKey' });

export const apiKeyListSchema = z.object({ api_keys: z.array(apiKeySchema) });

export const healthSchema = z.object({
  status: z.literal('ok'),
  instance: z.string().nullable().meta({ description: 'FLEET_INSTANCE_ID of this process.' }),
});

export const readySchema = z.object({
  status: z.enum(['ready', 'not ready']),
  checks: z.object({
    postgres: z.string().meta({ description: '`ok` or the error.' }),
    redis: z.string().meta({ description: '`ok` or the error.' }),
  }),
});

export const openApiDocumentSchema = z
  .record(z.string(), z.unknown())
  .meta({ description: 'This document (OpenAPI 3.1).' });
