import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import rateLimit from '@fastify/rate-limit';
import { QUEUE_NAMES, UnknownJobError } from '@fleet/catalog';
import type { OpsDeps } from '@fleet/ops';
import type { RedisClient } from '@fleet/queues';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import { healthSchema, openApiDocumentSchema, readySchema } from './api-schemas.ts';
import { createAuth, requireAdmin } from './auth.ts';
import { clientErrorHandler, frameworkError, HttpError, sendError } from './http-errors.ts';
import { checkCharset, checkRequestText, checkUrlLength } from './input-guard.ts';
import { errors, ok, registerOpenApi } from './openapi.ts';
import { apiRoutes } from './routes/api.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { serializerCompiler, validatorCompiler } from './schema-compilers.ts';

export interface AppOptions {
  deps: OpsDeps;
  /** Connection for the shared rate-limit counters (producer role). */
  rateLimitRedis: RedisClient;
  log: Logger;
  adminKey: string;
  sessionTtlMs: number;
  rateLimitPerMinute: number;
  bodyLimitBytes: number;
  trustProxy: boolean;
  refreshSeconds: number;
  stuckMinutes: number;
  /** IDEMPOTENCY_KEY_TTL_HOURS in ms. */
  idempotencyTtlMs?: number;
  /** FLEET_INSTANCE_ID, answered by /healthz (process mode tells its own child by it). */
  instanceId?: string;
}

const PUBLIC = new Set(['/healthz', '/readyz', '/openapi.json', '/dashboard/login', '/', '/favicon.ico']);

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function pathOf(request: FastifyRequest): string {
  const url = request.url;
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** Pages a person opens in a browser: when not signed in they go to the login page. */
function isPage(request: FastifyRequest, path: string): boolean {
  return (
    request.method === 'GET' &&
    (path === '/dashboard' || path.startsWith('/dashboard/tasks/') || path.startsWith('/admin/queues')) &&
    String(request.headers.accept ?? '').includes('text/html')
  );
}

/** Probes and static files: asked for every few seconds by orchestrators and open dashboards. */
const QUIET = (path: string) => path === '/healthz' || path === '/readyz' || path.startsWith('/dashboard/assets/');

/**
 * The one log line of a request: method, route (the pattern, so ids and query strings stay out),
 * status, duration and the key that made it; never a body. Probes and assets at debug, so an
 * idle control plane does not fill its log with them.
 */
function logRequest(request: FastifyRequest, reply: FastifyReply): void {
  const path = pathOf(request);
  const route = request.routeOptions.url ?? path;
  const ms = Math.round(reply.elapsedTime);
  const line = {
    method: request.method,
    route,
    status: reply.statusCode,
    ms,
    keyId: request.principal?.id ?? null,
  };
  request.log[QUIET(path) ? 'debug' : 'info'](line, `${request.method} ${route} ${reply.statusCode} ${ms}ms`);
}

/** Builds the control plane's HTTP app (not listening yet). */
export async function buildApp(o: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: o.log as unknown as FastifyBaseLogger,
    // One line per request is written by the onResponse hook below, with the principal.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: o.bodyLimitBytes,
    trustProxy: o.trustProxy,
    // Ids are up to 200 characters (ops answers 400 naming the field beyond that); much longer
    // path parameters are refused by the router with 414.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    // Errors before routing and of the HTTP parser get the same JSON shape as every other error.
    frameworkErrors: frameworkError,
    clientErrorHandler,
  });
  const auth = createAuth({ db: o.deps.db, adminKey: o.adminKey, sessionTtlMs: o.sessionTtlMs });

  app.setErrorHandler((error, request, reply) => sendError(request, reply, error));
  app.setNotFoundHandler((request, reply) => {
    // Each catalog job has its own enqueue route; any other name gets the catalog's answer.
    const job = request.method === 'POST' ? /^\/v1\/jobs\/([^/]+)\/([^/]+)$/.exec(pathOf(request)) : null;
    const error = job
      ? new HttpError(404, 'not_found', new UnknownJobError(decode(job[1]!), decode(job[2]!)).message)
      : new HttpError(404, 'not_found', `no route ${request.method} ${pathOf(request)}`);
    return sendError(request, reply, error);
  });
  // Route schemas are zod: request bodies are validated with them and the OpenAPI document is
  // generated from them.
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler(app.log));
  await registerOpenApi(app);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
  app.addHook('onResponse', async (request, reply) => logRequest(request, reply));

  // Hooks answer errors themselves rather than throwing: plugins such as bull-board install their
  // own error handlers, which would turn a 4xx into a 500.
  app.addHook('onRequest', async (request, reply) => {
    try {
      checkUrlLength(request);
      checkCharset(request);
    } catch (error) {
      return sendError(request, reply, error);
    }
  });
  app.addHook('preValidation', async (request, reply) => {
    try {
      checkRequestText(request);
    } catch (error) {
      return sendError(request, reply, error);
    }
  });

  // Authentication before anything else (rate limits then count per key, not per address).
  app.addHook('onRequest', async (request, reply) => {
    const path = pathOf(request);
    if (PUBLIC.has(path) || path.startsWith('/dashboard/assets/')) return;
    try {
      await auth.authenticate(request);
      if (path.startsWith('/admin/queues')) requireAdmin(request, 'queue management (bull-board)');
    } catch (error) {
      if (error instanceof HttpError && error.status === 401 && isPage(request, path)) {
        return reply.redirect('/dashboard/login');
      }
      // Answered here rather than thrown: plugins such as bull-board install their own error
      // handlers, which would turn a 401/403 into a 500.
      return sendError(request, reply, error);
    }
  });

  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: o.rateLimitPerMinute,
    timeWindow: 60_000,
    redis: o.rateLimitRedis,
    nameSpace: `${o.deps.prefix}:control-plane:rate:`,
    skipOnError: true,
    keyGenerator: (request) => (request.principal ? `p:${request.principal.id}` : `ip:${request.ip}`),
    allowList: (request) => PUBLIC.has(pathOf(request)) || pathOf(request).startsWith('/dashboard/assets/'),
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      message: `rate limit exceeded: at most ${context.max} requests per minute; retry in ${context.after}`,
    }),
  });

  const SERVICE_ERRORS = errors({ 400: 'The URL is not valid.', 414: 'The URL is too long.' });
  app.get(
    '/openapi.json',
    {
      schema: {
        operationId: 'getOpenApiDocument',
        tags: ['service'],
        summary: 'This OpenAPI document, generated from the routes.',
        security: [],
        response: { 200: ok('The document.', openApiDocumentSchema), ...SERVICE_ERRORS },
      },
    },
    async () => app.swagger(),
  );
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'getHealth',
        tags: ['service'],
        summary: 'Liveness: answers while the process serves requests.',
        security: [],
        response: { 200: ok('Alive.', healthSchema), ...SERVICE_ERRORS },
      },
    },
    async () => ({ status: 'ok' as const, instance: o.instanceId ?? null }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'getReadiness',
        tags: ['service'],
        summary: 'Readiness: Postgres and Redis answer.',
        security: [],
        response: {
          200: ok('Ready.', readySchema),
          503: ok('Postgres or Redis does not answer; `checks` says which.', readySchema),
          ...SERVICE_ERRORS,
        },
      },
    },
    async (_request, reply) => {
      const checks = { postgres: 'ok', redis: 'ok' };
      await Promise.all([
        sql`SELECT 1`.execute(o.deps.db).catch((e: Error) => {
          checks.postgres = e.message;
        }),
        o.deps.redis.ping().catch((e: Error) => {
          checks.redis = e.message;
        }),
      ]);
      const ready = checks.postgres === 'ok' && checks.redis === 'ok';
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
    },
  );

  await apiRoutes(app, o.deps, { stuckMinutes: o.stuckMinutes, idempotencyTtlMs: o.idempotencyTtlMs });
  await dashboardRoutes(app, {
    deps: o.deps,
    auth,
    adminKey: o.adminKey,
    refreshSeconds: o.refreshSeconds,
    stuckMinutes: o.stuckMinutes,
  });

  // bull-board: retry, promote and clean jobs of every queue; admin only (see the auth hook).
  const board = new FastifyAdapter();
  board.setBasePath('/admin/queues');
  createBullBoard({
    queues: QUEUE_NAMES.map((name) => new BullMQAdapter(o.deps.producer.queue(name))),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'Agent fleet queues' } },
  });
  // bull-board's page links Google Fonts; this service runs on private networks and loads
  // nothing from outside, so the link is dropped (the UI falls back to system fonts).
  app.addHook('onSend', async (request, reply, payload) => {
    if (typeof payload !== 'string' || !pathOf(request).startsWith('/admin/queues')) return payload;
    if (!String(reply.getHeader('content-type') ?? '').includes('text/html')) return payload;
    return payload.replace(/<link[^>]*\/\/fonts\.(googleapis|gstatic)\.com[^>]*>/g, '');
  });
  await app.register(board.registerPlugin(), { prefix: '/admin/queues' });

  return app;
}
