import { catalog, jobsOf, QUEUE_NAMES } from '@fleet/catalog';
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
  statsFiltersSchema,
  summary,
  taskFiltersSchema,
} from '@fleet/ops';
import { contextFromHeaders, FleetAttributes, SpanKind, withSpan } from '@fleet/tracing';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  apiKeyListSchema,
  apiKeySchema,
  cancelBodySchema,
  cancelResultSchema,
  createdApiKeySchema,
  createKeyBodySchema,
  enqueueBodyFor,
  enqueueBodySchema,
  enqueuedSchema,
  enqueueHeadersSchema,
  idParamsSchema,
  keyIdParamsSchema,
  noQuerySchema,
  queueQuerySchema,
  queuesSchema,
  retryBodySchema,
  retryResultSchema,
  statsSchema,
  summaryQuerySchema,
  summaryResponseSchema,
  taskDetailSchema,
  taskPageSchema,
} from '../api-schemas.ts';
import { requireAdmin } from '../auth.ts';
import { HttpError } from '../http-errors.ts';
import { COMMON_ERRORS, errors, ok } from '../openapi.ts';
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
import { documentedAs } from '../schema-compilers.ts';

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

/**
 * The query string as it arrived: the validator passes query strings through (see
 * schema-compilers.ts) and @fleet/ops parses them with the schema the route documents.
 */
function rawQuery(request: FastifyRequest): Record<string, string | undefined> {
  return request.query as Record<string, string | undefined>;
}

function access(request: FastifyRequest) {
  // The auth hook runs before every /v1 route; a missing principal is a wiring bug.
  if (!request.principal) throw new HttpError(401, 'unauthorized', 'an API key is required');
  return request.principal.access;
}

export interface ApiOptions {
  stuckMinutes: number;
  /** How long an idempotency key holds (default 24 h). */
  idempotencyTtlMs?: number;
}

/** A route-level preValidation hook: refuses unknown query parameters before the body is read. */
const queryOnly = (known: readonly string[]) => async (request: FastifyRequest) => onlyQuery(request, known);

/** Key management is the admin's, checked before the body (a tenant learns nothing of its rules). */
const adminOnly = async (request: FastifyRequest) => requireAdmin(request, 'key management');

/** camelCase operationId of a job's enqueue operation: `enqueueDailyAnalyticsRollup`. */
export function enqueueOperationId(job: string): string {
  return `enqueue${job.replace(/(^|_)([a-z0-9])/g, (_m, _u, c: string) => c.toUpperCase())}`;
}

const TASK_ERRORS = errors({
  ...COMMON_ERRORS,
  403: 'The key may not access this workspace.',
  404: 'No such task (or not visible to this key).',
});

/**
 * The /v1 routes. Every handler is a thin mapping onto @fleet/ops, which decides what the
 * principal may do (its access rules); no route has rules of its own. Each route declares its
 * schemas, from which the OpenAPI document is generated.
 */
export async function apiRoutes(fastify: FastifyInstance, deps: OpsDeps, options: ApiOptions): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { stuckMinutes } = options;

  // One route per catalog job, each documenting its job's payload schema.
  for (const queue of QUEUE_NAMES) {
    const q = catalog[queue];
    for (const [job, def] of jobsOf(queue)) {
      const who =
        def.scope === 'fleet'
          ? 'A fleet job: the admin key only.'
          : 'A workspace job: any key for the workspace its `workspace_id` names (a payload without one needs the admin key).';
      app.post(
        `/v1/jobs/${queue}/${job}`,
        {
          preValidation: queryOnly([]),
          schema: {
            operationId: enqueueOperationId(job),
            tags: ['jobs'],
            summary: def.description,
            description: `Validates the payload, enqueues one \`${job}\` job on \`${queue}\` (consumed by ${q.agent}) and returns where to poll (also in the \`location\` header). Payloads larger than ${q.maxPayloadBytes} bytes get 413. ${who}`,
            'x-fleet-queue': queue,
            'x-fleet-scope': def.scope,
            headers: enqueueHeadersSchema,
            body: documentedAs(enqueueBodySchema, enqueueBodyFor(def.payload)),
            response: {
              201: ok('Enqueued.', enqueuedSchema),
              200: ok('Idempotent replay: the first request’s task.', enqueuedSchema),
              ...errors({
                ...COMMON_ERRORS,
                403: 'The key may not enqueue for this workspace, or this job needs the admin key.',
                409: 'The idempotency key was used for a different request.',
                413: 'Body or payload too large.',
                415: 'The body is not JSON (UTF-8).',
                503: 'Redis did not confirm the add (`enqueue_unconfirmed`): the job may be queued. Poll the job, or repeat the request with the same Idempotency-Key (never a second job).',
              }),
            },
          },
        },
        (request, reply) =>
          // The trace of an enqueue starts here (or continues the caller's, from `traceparent`):
          // the job carries it to the worker, whose spans join it.
          withSpan(
            `POST /v1/jobs/${queue}/${job}`,
            {
              kind: SpanKind.SERVER,
              parent: contextFromHeaders(request.headers),
              attributes: {
                'http.request.method': 'POST',
                'http.route': `/v1/jobs/${queue}/${job}`,
                [FleetAttributes.Queue]: queue,
                [FleetAttributes.JobName]: job,
              },
            },
            async (span) => {
              const body = request.body;
              const headerKey = request.headers['idempotency-key'];
              if (headerKey && body.idempotency_key && headerKey !== body.idempotency_key) {
                throw new HttpError(400, 'invalid_input', 'Idempotency-Key header and idempotency_key differ', [
                  { field: 'idempotency_key', message: 'differs from the Idempotency-Key header' },
                ]);
              }
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
              const code = result.created ? 201 : 200;
              span.setAttributes({
                'http.response.status_code': code,
                [FleetAttributes.JobId]: result.jobId,
                ...(row ? { [FleetAttributes.TaskId]: row.id } : {}),
              });
              reply.header('location', poll);
              return reply.code(code).send({
                task_id: row?.id ?? null,
                job_id: result.jobId,
                queue: result.queue,
                job: result.job,
                created: result.created,
                status: row?.status ?? 'pending',
                status_url: poll,
              });
            },
          ),
      );
    }
  }

  app.get(
    '/v1/tasks',
    {
      schema: {
        operationId: 'listTasks',
        tags: ['tasks'],
        summary: 'Audit rows, newest first, keyset-paginated (pass next_cursor as cursor).',
        querystring: taskFiltersSchema,
        response: { 200: ok('A page of rows.', taskPageSchema), ...TASK_ERRORS },
      },
    },
    async (request) => presentTaskPage(await listTasks(deps.db, rawQuery(request), access(request))),
  );

  app.get(
    '/v1/tasks/:id',
    {
      preValidation: queryOnly(['queue']),
      schema: {
        operationId: 'getTask',
        tags: ['tasks'],
        summary: 'One task with every attempt of its job and the job’s live state.',
        params: idParamsSchema,
        querystring: queueQuerySchema,
        response: { 200: ok('The task.', taskDetailSchema), ...TASK_ERRORS },
      },
    },
    async (request) => {
      const queue = oneQuery(request, 'queue');
      return presentDetail(await getTask(deps, request.params.id, { access: access(request), queue }));
    },
  );

  app.post(
    '/v1/tasks/:id/cancel',
    {
      preValidation: queryOnly(['queue']),
      schema: {
        operationId: 'cancelTask',
        tags: ['tasks'],
        summary: 'Cancels a task wherever its job is; 200 when it is cancelled, 202 when it will be when recovered.',
        description:
          'A waiting or delayed job is removed; a running one is aborted by its worker. A cancel of a job whose ' +
          'worker died is recorded and honoured when the job is recovered (202, `outcome: pending`): it never runs ' +
          'again. `message` says which happened. A finished task is 409 ("already finished").',
        params: idParamsSchema,
        querystring: queueQuerySchema,
        body: cancelBodySchema,
        response: {
          200: ok('Cancelled (`outcome: cancelled`).', cancelResultSchema),
          202: ok(
            'Recorded; the job ends cancelled when its worker stops it or it is recovered (`outcome: pending`).',
            cancelResultSchema,
          ),
          ...TASK_ERRORS,
          ...errors({ 409: 'Already finished.', 415: 'The body is not JSON (UTF-8).' }),
        },
      },
    },
    async (request, reply) => {
      const queue = oneQuery(request, 'queue');
      const who = request.principal?.id === 'admin' ? 'admin' : `key ${request.principal?.name}`;
      const result = await cancelTask(deps, request.params.id, {
        access: access(request),
        queue,
        reason: `${request.body?.reason ?? 'cancelled through the API'} (by ${who})`,
      });
      // 202: recorded, and the job ends cancelled when its worker stops it or it is recovered.
      return reply.code(result.outcome === 'cancelled' ? 200 : 202).send(presentCancel(result));
    },
  );

  app.post(
    '/v1/tasks/:id/retry',
    {
      preValidation: queryOnly(['queue']),
      schema: {
        operationId: 'retryTask',
        tags: ['tasks'],
        summary: 'Retries a failed job in place (200) or enqueues a finished task again (201).',
        params: idParamsSchema,
        querystring: queueQuerySchema,
        body: retryBodySchema,
        response: {
          200: ok('Retried: the failed job is back in its queue.', retryResultSchema),
          201: ok('Enqueued again as a new job.', retryResultSchema),
          ...TASK_ERRORS,
          ...errors({ 409: 'Still queued or running.', 415: 'The body is not JSON (UTF-8).' }),
        },
      },
    },
    async (request, reply) => {
      const queue = oneQuery(request, 'queue');
      const result = await retryTask(deps, request.params.id, { access: access(request), queue });
      return reply.code(result.action === 'requeued' ? 201 : 200).send(presentRetry(result));
    },
  );

  app.get(
    '/v1/summary',
    {
      preValidation: queryOnly(['workspace_id', 'task_type', 'hours']),
      schema: {
        operationId: 'getSummary',
        tags: ['figures'],
        summary: 'get_autonomous_task_summary for one workspace.',
        querystring: summaryQuerySchema,
        response: {
          200: ok('Per task type: executions, successes, failures, duration and cost.', summaryResponseSchema),
          ...errors({ ...COMMON_ERRORS, 403: 'The key may not access this workspace.' }),
        },
      },
    },
    async (request) => {
      const { workspace_id, task_type, hours } = rawQuery(request);
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
    },
  );

  app.get(
    '/v1/queues',
    {
      preValidation: queryOnly([]),
      schema: {
        operationId: 'listQueues',
        tags: ['figures'],
        summary: 'Admin: live counts of every queue (fleet-wide figures).',
        querystring: noQuerySchema,
        response: {
          200: ok('Every queue.', queuesSchema),
          ...errors({ ...COMMON_ERRORS, 403: 'Fleet-wide figures need the admin key.' }),
        },
      },
    },
    async (request) => ({ queues: (await queueCounts(deps.producer, access(request))).map(presentQueue) }),
  );

  app.get(
    '/v1/stats',
    {
      preValidation: queryOnly(['workspace_id', 'task_type', 'status', 'hours', 'stuck_minutes']),
      schema: {
        operationId: 'getStats',
        tags: ['figures'],
        summary: 'The dashboard’s figures over the caller’s workspaces (or one of them).',
        querystring: statsFiltersSchema,
        response: {
          200: ok('Totals, per type, cost per day, throughput, stuck rows and latest failures.', statsSchema),
          ...errors({ ...COMMON_ERRORS, 403: 'The key may not access this workspace.' }),
        },
      },
    },
    async (request) => {
      return dashboardStats(deps.db, { stuck_minutes: stuckMinutes, ...rawQuery(request) }, access(request));
    },
  );

  // Key management: admin only.
  const KEY_ERRORS = errors({ ...COMMON_ERRORS, 403: 'Key management needs the admin key.' });
  app.get(
    '/v1/api-keys',
    {
      preValidation: [adminOnly, queryOnly([])],
      schema: {
        operationId: 'listApiKeys',
        tags: ['api-keys'],
        summary: 'Admin: list keys (never the keys themselves).',
        querystring: noQuerySchema,
        response: { 200: ok('Every key.', apiKeyListSchema), ...KEY_ERRORS },
      },
    },
    async () => ({ api_keys: (await listApiKeys(deps.db)).map(presentKey) }),
  );
  app.post(
    '/v1/api-keys',
    {
      preValidation: [adminOnly, queryOnly([])],
      schema: {
        operationId: 'createApiKey',
        tags: ['api-keys'],
        summary: 'Admin: create a key scoped to workspaces; the key is shown once.',
        description: 'The same operation as `fleet api-keys create --name <name> --workspace <uuid>...`.',
        querystring: noQuerySchema,
        body: createKeyBodySchema,
        response: {
          201: ok('Created; `key` is the secret, returned only in this response.', createdApiKeySchema),
          ...KEY_ERRORS,
          ...errors({ 415: 'The body is not JSON (UTF-8).' }),
        },
      },
    },
    async (request, reply) => {
      const { key, info } = await createApiKey(deps.db, {
        name: request.body.name,
        workspaceIds: request.body.workspace_ids,
      });
      return reply.code(201).send({ key, ...presentKey(info) });
    },
  );
  app.delete(
    '/v1/api-keys/:id',
    {
      preValidation: [adminOnly, queryOnly([])],
      schema: {
        operationId: 'revokeApiKey',
        tags: ['api-keys'],
        summary: 'Admin: revoke a key by id or prefix.',
        params: keyIdParamsSchema,
        querystring: noQuerySchema,
        response: {
          200: ok('Revoked: the key as it is now.', apiKeySchema),
          ...KEY_ERRORS,
          ...errors({ 404: 'No such key.' }),
        },
      },
    },
    async (request) => presentKey(await revokeApiKey(deps.db, request.params.id)),
  );
}
