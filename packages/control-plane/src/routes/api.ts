import {
  cancelTask,
  createApiKey,
  dashboardStats,
  enqueueJob,
  getTask,
  listApiKeys,
  listTasks,
  type OpsDeps,
  queueCounts,
  retryTask,
  revokeApiKey,
  summary,
} from '@fleet/ops';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requireAdmin } from '../auth.ts';
import { HttpError } from '../http-errors.ts';
import {
  presentCancel,
  presentDetail,
  presentKey,
  presentQueue,
  presentRetry,
  presentSummary,
  presentTaskPage,
  statusUrl,
} from '../present.ts';

/** Body of POST /v1/jobs/{queue}/{job}. */
export const enqueueBodySchema = z.strictObject({
  /** The job's payload; its schema is the catalog's (see the OpenAPI document per job). */
  payload: z.record(z.string(), z.unknown(), { error: 'must be a JSON object (the job payload)' }),
  /** Run no earlier than this many milliseconds from now. */
  delay_ms: z.number({ error: 'must be a number of milliseconds' }).int('must be a whole number').optional(),
  /** 1 (highest) .. 2,097,152. */
  priority: z.number({ error: 'must be a number' }).int('must be a whole number').optional(),
  /** Same as the Idempotency-Key header. */
  idempotency_key: z.string().optional(),
});

export const cancelBodySchema = z
  .strictObject({ reason: z.string().min(1).max(500, 'must be at most 500 characters').optional() })
  .optional();

/** Body of POST /v1/api-keys (admin only); the OpenAPI document's request schema is this one. */
export const createKeyBodySchema = z.strictObject({
  /** What the key is for, e.g. "billing service"; shown in listings and logs. */
  name: z
    .string({ error: 'must be a string of 1-200 characters' })
    .min(1, 'must be 1-200 characters')
    .max(200, 'must be 1-200 characters')
    .meta({ description: 'What the key is for, e.g. "billing service"; shown in listings.' }),
  /** The workspaces the key may read and enqueue for. */
  workspace_ids: z
    .array(z.uuid({ error: 'must be a workspace UUID' }), { error: 'must be a list of workspace UUIDs' })
    .min(1, 'must list at least one workspace')
    .meta({ description: 'The workspaces the key may read and enqueue for.' }),
});

/** The value at `path` in `data` (zod does not report it unless asked to). */
function valueAt(data: unknown, path: PropertyKey[]): unknown {
  let value = data;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const fields = r.error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => ({ field: k, message: 'is not a known field; remove it' }))
      : [
          {
            field: i.path.map(String).join('.') || '(body)',
            message: i.code === 'invalid_type' && valueAt(body, i.path) === undefined ? 'is required' : i.message,
          },
        ],
  );
  throw new HttpError(
    400,
    'invalid_input',
    `invalid request body: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}`,
    fields,
  );
}

/** Refuses query parameters a route does not know (a typo would otherwise be ignored silently). */
function onlyQuery(request: FastifyRequest, known: readonly string[]): void {
  const unknown = Object.keys((request.query ?? {}) as object).filter((k) => !known.includes(k));
  if (unknown.length) {
    throw new HttpError(
      400,
      'invalid_input',
      `unknown query parameters: ${unknown.join(', ')}`,
      unknown.map((k) => ({ field: k, message: 'is not a known parameter' })),
    );
  }
}

/** A single-valued query parameter (a repeated one is refused rather than half-read). */
function oneQuery(request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.[name];
  if (value === undefined || typeof value === 'string') return value;
  throw new HttpError(400, 'invalid_input', `${name} must be given once`, [
    { field: name, message: 'must be given once' },
  ]);
}

function access(request: FastifyRequest) {
  // The auth hook runs before every /v1 route; a missing principal is a wiring bug.
  if (!request.principal) throw new HttpError(401, 'unauthorized', 'an API key is required');
  return request.principal.access;
}

type IdParams = { Params: { id: string }; Querystring: { queue?: string } };

export interface ApiOptions {
  stuckMinutes: number;
  /** How long an idempotency key holds (default 24 h). */
  idempotencyTtlMs?: number;
}

/**
 * The /v1 routes. Every handler is a thin mapping onto @fleet/ops, which decides what the
 * principal may do (its access rules); no route has rules of its own.
 */
export async function apiRoutes(app: FastifyInstance, deps: OpsDeps, options: ApiOptions): Promise<void> {
  const { stuckMinutes } = options;
  app.post<{ Params: { queue: string; job: string } }>('/v1/jobs/:queue/:job', async (request, reply) => {
    onlyQuery(request, []);
    const body = parseBody(enqueueBodySchema, request.body ?? undefined);
    const header = request.headers['idempotency-key'];
    const headerKey = typeof header === 'string' ? header : undefined;
    if (headerKey && body.idempotency_key && headerKey !== body.idempotency_key) {
      throw new HttpError(400, 'invalid_input', 'Idempotency-Key header and idempotency_key differ', [
        { field: 'idempotency_key', message: 'differs from the Idempotency-Key header' },
      ]);
    }
    const { queue, job } = request.params;
    const result = await enqueueJob(
      deps,
      {
        queue,
        job,
        payload: body.payload,
        delayMs: body.delay_ms,
        priority: body.priority,
        idempotencyKey: headerKey ?? body.idempotency_key,
        idempotencyTtlMs: options.idempotencyTtlMs,
        principal: request.principal?.id,
      },
      access(request),
    );
    const row = await deps.db
      .selectFrom('autonomous_tasks')
      .select(['id', 'status'])
      .where('queue_name', '=', result.queue)
      .where('job_id', '=', result.jobId)
      .orderBy('attempt', 'desc')
      .limit(1)
      .executeTakeFirst();
    const poll = statusUrl(result.queue, result.jobId);
    reply.header('location', poll);
    return reply.code(result.created ? 201 : 200).send({
      task_id: row?.id ?? null,
      job_id: result.jobId,
      queue: result.queue,
      job: result.job,
      created: result.created,
      status: row?.status ?? 'pending',
      status_url: poll,
    });
  });

  app.get('/v1/tasks', async (request) => {
    return presentTaskPage(await listTasks(deps.db, request.query as Record<string, string>, access(request)));
  });

  app.get<IdParams>('/v1/tasks/:id', async (request) => {
    onlyQuery(request, ['queue']);
    const queue = oneQuery(request, 'queue');
    return presentDetail(await getTask(deps, request.params.id, { access: access(request), queue }));
  });

  app.post<IdParams>('/v1/tasks/:id/cancel', async (request, reply) => {
    onlyQuery(request, ['queue']);
    const queue = oneQuery(request, 'queue');
    const body = parseBody(cancelBodySchema, request.body ?? undefined);
    const who = request.principal?.id === 'admin' ? 'admin' : `key ${request.principal?.name}`;
    const result = await cancelTask(deps, request.params.id, {
      access: access(request),
      queue,
      reason: `${body?.reason ?? 'cancelled through the API'} (by ${who})`,
    });
    // 202: recorded, and the job ends cancelled when its worker stops it or it is recovered.
    return reply.code(result.outcome === 'cancelled' ? 200 : 202).send(presentCancel(result));
  });

  app.post<IdParams>('/v1/tasks/:id/retry', async (request, reply) => {
    onlyQuery(request, ['queue']);
    const queue = oneQuery(request, 'queue');
    parseBody(z.strictObject({}).optional(), request.body ?? undefined);
    const result = await retryTask(deps, request.params.id, { access: access(request), queue });
    return reply.code(result.action === 'requeued' ? 201 : 200).send(presentRetry(result));
  });

  app.get<{ Querystring: Record<string, string> }>('/v1/summary', async (request) => {
    const { workspace_id, task_type, hours, ...rest } = request.query;
    const unknown = Object.keys(rest);
    if (unknown.length) {
      throw new HttpError(
        400,
        'invalid_input',
        `unknown query parameters: ${unknown.join(', ')}`,
        unknown.map((k) => ({ field: k, message: 'is not a known parameter' })),
      );
    }
    const rows = await summary(
      deps.db,
      { workspace_id: workspace_id as string, task_type: task_type as never, hours },
      access(request),
    );
    return {
      workspace_id,
      task_type: task_type ?? null,
      hours: Number(hours ?? 24),
      summary: rows.map(presentSummary),
    };
  });

  app.get('/v1/queues', async (request) => {
    onlyQuery(request, []);
    return { queues: (await queueCounts(deps.producer, access(request))).map(presentQueue) };
  });

  app.get('/v1/stats', async (request) => {
    onlyQuery(request, ['workspace_id', 'task_type', 'status', 'hours', 'stuck_minutes']);
    const q = request.query as Record<string, string>;
    return dashboardStats(deps.db, { stuck_minutes: stuckMinutes, ...q }, access(request));
  });

  // Key management: admin only.
  app.get('/v1/api-keys', async (request) => {
    requireAdmin(request, 'key management');
    onlyQuery(request, []);
    return { api_keys: (await listApiKeys(deps.db)).map(presentKey) };
  });
  app.post('/v1/api-keys', async (request, reply) => {
    requireAdmin(request, 'key management');
    onlyQuery(request, []);
    const body = parseBody(createKeyBodySchema, request.body ?? undefined);
    const { key, info } = await createApiKey(deps.db, { name: body.name, workspaceIds: body.workspace_ids });
    return reply.code(201).send({ key, ...presentKey(info) });
  });
  app.delete<{ Params: { id: string } }>('/v1/api-keys/:id', async (request) => {
    requireAdmin(request, 'key management');
    onlyQuery(request, []);
    return presentKey(await revokeApiKey(deps.db, request.params.id));
  });
}
