import { statsFiltersSchema, taskFiltersSchema } from '@fleet/ops';
import { catalog, type JobScope, QUEUE_NAMES } from '@fleet/queues';
import { z } from 'zod';
import { cancelBodySchema, createKeyBodySchema, enqueueBodySchema } from './routes/api.ts';

type Json = Record<string, unknown>;

/** JSON Schema (2020-12, what OpenAPI 3.1 uses) of what a client sends for `schema`. */
function inputSchema(schema: z.ZodType): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  return rest;
}

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const commonErrors = {
  '400': errorResponse('Invalid input; `error.fields` lists every bad field.'),
  '401': errorResponse('Missing, unknown or revoked API key.'),
  '403': errorResponse(
    'The key may not access this workspace, or this needs the admin key (fleet jobs, fleet-wide figures, key management).',
  ),
  '429': errorResponse('Rate limited; retry after the `retry-after` header.'),
};

/**
 * The OpenAPI document, generated from the same zod schemas the queues validate with: each
 * catalog job gets its own enqueue path whose `payload` is that job's schema.
 */
export function buildOpenApi(): Json {
  const paths: Json = {};
  const bodyBase = inputSchema(enqueueBodySchema);
  for (const queue of QUEUE_NAMES) {
    const q = catalog[queue];
    for (const [job, def] of Object.entries(
      q.jobs as Record<string, { payload: z.ZodType; description: string; scope: JobScope }>,
    )) {
      const who =
        def.scope === 'fleet'
          ? 'A fleet job: the admin key only.'
          : 'A workspace job: any key for the workspace its `workspace_id` names (a payload without one needs the admin key).';
      paths[`/v1/jobs/${queue}/${job}`] = {
        post: {
          operationId: `enqueue_${job}`,
          tags: [queue],
          summary: def.description,
          'x-fleet-scope': def.scope,
          description: `Validates the payload, enqueues one \`${job}\` job on \`${queue}\` (consumed by ${q.agent}) and returns where to poll. Payloads larger than ${q.maxPayloadBytes} bytes get 413. ${who}`,
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description: 'A repeated key returns the first task (200) and never adds a second job.',
              schema: { type: 'string', maxLength: 200 },
            },
          ],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  ...bodyBase,
                  properties: { ...(bodyBase.properties as Json), payload: inputSchema(def.payload) },
                },
              },
            },
          },
          responses: {
            '201': {
              description: 'Enqueued.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Enqueued' } } },
            },
            '200': {
              description: 'Idempotent replay: the first request’s task.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Enqueued' } } },
            },
            ...commonErrors,
            '409': errorResponse('The idempotency key was used for a different request.'),
            '413': errorResponse('Body or payload too large.'),
            '503': errorResponse(
              'Redis did not confirm the add (`enqueue_unconfirmed`): the job may be queued. Poll the job, or repeat the request with the same Idempotency-Key (never a second job).',
            ),
          },
        },
      };
    }
  }

  const filters = inputSchema(taskFiltersSchema) as { properties: Record<string, Json> };
  const idParam = {
    name: 'id',
    in: 'path',
    required: true,
    description: 'Audit row id or BullMQ job id.',
    schema: { type: 'string' },
  };
  const queueParam = { name: 'queue', in: 'query', required: false, schema: { type: 'string', enum: QUEUE_NAMES } };
  paths['/v1/tasks'] = {
    get: {
      operationId: 'listTasks',
      summary: 'Audit rows, newest first, keyset-paginated (pass next_cursor as cursor).',
      parameters: Object.entries(filters.properties).map(([name, schema]) => ({
        name,
        in: 'query',
        required: false,
        schema,
      })),
      responses: { '200': { description: '{ tasks, next_cursor }' }, ...commonErrors },
    },
  };
  paths['/v1/tasks/{id}'] = {
    get: {
      operationId: 'getTask',
      summary: 'One task with every attempt of its job and the job’s live state.',
      parameters: [idParam, queueParam],
      responses: {
        '200': { description: '{ task, attempts, queue, job_id, job, payload }' },
        ...commonErrors,
        '404': errorResponse('No such task (or not visible to this key).'),
      },
    },
  };
  paths['/v1/tasks/{id}/cancel'] = {
    post: {
      operationId: 'cancelTask',
      summary: 'Cancels a task wherever its job is; 200 when it is cancelled, 202 when it will be when recovered.',
      description:
        'A waiting or delayed job is removed; a running one is aborted by its worker. A cancel of a job whose ' +
        'worker died is recorded and honoured when the job is recovered (202, `outcome: pending`): it never runs ' +
        'again. `message` says which happened. A finished task is 409 ("already finished").',
      parameters: [idParam, queueParam],
      requestBody: {
        required: false,
        content: { 'application/json': { schema: inputSchema(cancelBodySchema.unwrap()) } },
      },
      responses: {
        '200': {
          description: 'Cancelled: `{ outcome: "cancelled", action, queue, job_id, attempt, message }`.',
        },
        '202': {
          description:
            'Recorded; the job ends cancelled when its worker stops it or it is recovered: `{ outcome: "pending", action: "marked", ... }`.',
        },
        ...commonErrors,
        '404': errorResponse('No such task.'),
        '409': errorResponse('Already finished.'),
      },
    },
  };
  paths['/v1/tasks/{id}/retry'] = {
    post: {
      operationId: 'retryTask',
      summary: 'Retries a failed job in place (200) or enqueues a finished task again (201).',
      parameters: [idParam, queueParam],
      responses: {
        '200': { description: 'Retried.' },
        '201': { description: 'Enqueued again as a new job.' },
        ...commonErrors,
        '404': errorResponse('No such task.'),
        '409': errorResponse('Still queued or running.'),
      },
    },
  };
  paths['/v1/summary'] = {
    get: {
      operationId: 'summary',
      summary: 'get_autonomous_task_summary for one workspace.',
      parameters: [
        { name: 'workspace_id', in: 'query', required: true, schema: { type: 'string', format: 'uuid' } },
        { name: 'task_type', in: 'query', required: false, schema: { type: 'string' } },
        {
          name: 'hours',
          in: 'query',
          required: false,
          schema: { type: 'integer', minimum: 1, maximum: 8784, default: 24 },
        },
      ],
      responses: { '200': { description: '{ summary: [...] }' }, ...commonErrors },
    },
  };
  const statsFilters = inputSchema(statsFiltersSchema) as { properties: Record<string, Json> };
  paths['/v1/stats'] = {
    get: {
      operationId: 'stats',
      summary: 'The dashboard’s figures over the caller’s workspaces (or one of them).',
      parameters: Object.entries(statsFilters.properties).map(([name, schema]) => ({
        name,
        in: 'query',
        required: false,
        schema,
      })),
      responses: {
        '200': { description: '{ totals, byType, costByDay, throughput, stuck, failures }' },
        ...commonErrors,
      },
    },
  };
  paths['/v1/queues'] = {
    get: {
      operationId: 'queues',
      summary: 'Admin: live counts of every queue (fleet-wide figures).',
      responses: { '200': { description: '{ queues: [...] }' }, ...commonErrors },
    },
  };
  paths['/v1/api-keys'] = {
    get: {
      operationId: 'listApiKeys',
      summary: 'Admin: list keys (never the keys themselves).',
      responses: { '200': { description: '{ api_keys }' }, ...commonErrors },
    },
    post: {
      operationId: 'createApiKey',
      summary: 'Admin: create a key scoped to workspaces; the key is shown once.',
      description: 'The same operation as `fleet api-keys create --name <name> --workspace <uuid>...`.',
      requestBody: {
        required: true,
        content: { 'application/json': { schema: inputSchema(createKeyBodySchema) } },
      },
      responses: {
        '201': {
          description: 'Created; `key` is the secret, returned only in this response.',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/CreatedApiKey' } } },
        },
        ...commonErrors,
      },
    },
  };
  paths['/v1/api-keys/{id}'] = {
    delete: {
      operationId: 'revokeApiKey',
      summary: 'Admin: revoke a key by id or prefix.',
      parameters: [{ ...idParam, description: 'Key id or prefix.' }],
      responses: { '200': { description: 'Revoked.' }, ...commonErrors },
    },
  };

  return {
    openapi: '3.1.0',
    info: {
      title: 'Agent fleet control plane',
      version: '1.0.0',
      description: 'Enqueue agent jobs and read their audit trail (autonomous_tasks).',
    },
    security: [{ bearer: [] }, { apiKey: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string' },
                message: { type: 'string' },
                fields: {
                  type: 'array',
                  items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } },
                },
              },
            },
          },
        },
        ApiKey: {
          type: 'object',
          required: ['id', 'name', 'key_prefix', 'workspace_ids', 'created_at', 'last_used_at', 'revoked_at'],
          properties: {
            id: { type: 'string', format: 'uuid' },
            name: { type: 'string' },
            key_prefix: { type: 'string', description: 'Identifies the key in listings; `fleet_` and 8 hex digits.' },
            workspace_ids: { type: 'array', items: { type: 'string', format: 'uuid' } },
            created_at: { type: 'string', format: 'date-time' },
            last_used_at: { type: ['string', 'null'], format: 'date-time' },
            revoked_at: { type: ['string', 'null'], format: 'date-time' },
          },
        },
        CreatedApiKey: {
          allOf: [
            { $ref: '#/components/schemas/ApiKey' },
            {
              type: 'object',
              required: ['key'],
              properties: { key: { type: 'string', description: 'The key itself; shown only once.' } },
            },
          ],
        },
        Enqueued: {
          type: 'object',
          properties: {
            task_id: { type: ['string', 'null'], format: 'uuid', description: 'Audit row of the first attempt.' },
            job_id: { type: 'string' },
            queue: { type: 'string' },
            job: { type: 'string' },
            created: { type: 'boolean' },
            status: { type: 'string' },
            status_url: { type: 'string', description: 'Poll this for the task’s state.' },
          },
        },
      },
    },
    paths,
  };
}
