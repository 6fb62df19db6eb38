import { readFile } from 'node:fs/promises';
import {
  dashboardStats,
  isAdmin,
  listTasks,
  type OpsDeps,
  parseStatsFilters,
  queueCounts,
  verifyApiKey,
} from '@fleet/ops';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Auth, clearSessionCookie, sessionCookie } from '../auth.ts';
import { createCsrf } from '../csrf.ts';
import { renderLogin } from '../dashboard/layout.ts';
import { type OverviewView, renderOverviewContent, renderOverviewPage } from '../dashboard/overview.ts';
import { taskHref } from '../dashboard/tables.ts';
import { HttpError } from '../http-errors.ts';
import { dashboardTaskRoutes } from './dashboard-tasks.ts';
import { sendPage } from './html-page.ts';

const ASSETS: Record<string, string> = {
  'dashboard.css': 'text/css; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/** Query parameters of the overview; the pagers keep them. */
const OVERVIEW_PARAMS = ['workspace_id', 'task_type', 'status', 'hours', 'failed_cursor', 'recent_cursor'] as const;
const FAILED_STATUSES = ['failed', 'partial_failure'];
const FAILED_PAGE = 10;
const RECENT_PAGE = 25;

export interface DashboardOptions {
  deps: OpsDeps;
  auth: Auth;
  adminKey: string;
  refreshSeconds: number;
  stuckMinutes: number;
}

/** The ops dashboard: server-rendered HTML and SVG, no external assets. */
export async function dashboardRoutes(app: FastifyInstance, o: DashboardOptions): Promise<void> {
  const assetCache = new Map<string, Buffer>();
  const csrf = createCsrf(o.adminKey);

  app.get('/', async (_request, reply) => reply.redirect('/dashboard'));
  app.get('/favicon.ico', async (_request, reply) => reply.redirect('/dashboard/assets/favicon.svg', 301));

  app.get<{ Params: { file: string } }>('/dashboard/assets/:file', async (request, reply) => {
    const type = ASSETS[request.params.file];
    if (!type) throw new HttpError(404, 'not_found', 'no such asset');
    let body = assetCache.get(request.params.file);
    if (!body) {
      body = await readFile(new URL(`../dashboard/assets/${request.params.file}`, import.meta.url));
      assetCache.set(request.params.file, body);
    }
    return reply.type(type).header('cache-control', 'public, max-age=300').send(body);
  });

  app.get('/dashboard/login', async (_request, reply) => reply.type('text/html; charset=utf-8').send(renderLogin()));

  app.post('/dashboard/login', async (request, reply) => {
    const form = request.body as Record<string, string> | undefined;
    const key = typeof form?.key === 'string' ? form.key.trim() : '';
    const principal = key ? await verifyApiKey(o.deps.db, key, { adminKey: o.adminKey }) : null;
    if (!principal) {
      return reply.code(401).type('text/html; charset=utf-8').send(renderLogin('That key is unknown or revoked.'));
    }
    const session = o.auth.issueSession(principal);
    return reply
      .header('set-cookie', sessionCookie(session.value, session.maxAgeSeconds, request.protocol === 'https'))
      .redirect('/dashboard', 303);
  });

  app.post('/dashboard/logout', async (_request, reply) =>
    reply.header('set-cookie', clearSessionCookie()).redirect('/dashboard/login', 303),
  );

  async function view(request: FastifyRequest): Promise<OverviewView> {
    const principal = request.principal!;
    const q = request.query as Record<string, unknown>;
    const query = new URLSearchParams();
    for (const k of OVERVIEW_PARAMS) if (typeof q[k] === 'string' && q[k]) query.set(k, q[k] as string);
    const raw = Object.fromEntries(
      ['workspace_id', 'task_type', 'status', 'hours'].flatMap((k) => (query.has(k) ? [[k, query.get(k)]] : [])),
    );
    const filters = parseStatsFilters({ ...raw, stuck_minutes: o.stuckMinutes });
    const access = principal.access;
    const admin = isAdmin(access);
    let wsQuery = o.deps.db.selectFrom('workspaces').select(['id', 'name']).orderBy('name').limit(500);
    if (access.kind === 'workspaces') wsQuery = wsQuery.where('id', 'in', [...access.workspaceIds]);
    // The lists page through listTasks (keyset on created_at, id), like GET /v1/tasks.
    const window = {
      workspace_id: filters.workspace_id,
      task_type: filters.task_type,
      since: new Date(Date.now() - filters.hours * 3_600_000).toISOString(),
    };
    const failedStatus = filters.status ? FAILED_STATUSES.filter((s) => s === filters.status) : FAILED_STATUSES;
    const [stats, recent, failed, queues, workspaces] = await Promise.all([
      dashboardStats(o.deps.db, filters, access),
      listTasks(
        o.deps.db,
        { ...window, status: filters.status, limit: RECENT_PAGE, cursor: query.get('recent_cursor') ?? undefined },
        access,
      ),
      failedStatus.length
        ? listTasks(
            o.deps.db,
            {
              ...window,
              status: failedStatus.join(','),
              limit: FAILED_PAGE,
              cursor: query.get('failed_cursor') ?? undefined,
            },
            access,
          )
        : { tasks: [], nextCursor: null },
      // Fleet-wide figures: a workspace key's session gets none (see queueCounts).
      admin ? queueCounts(o.deps.producer, access) : null,
      wsQuery.execute(),
    ]);
    return {
      stats,
      recent,
      failed,
      queues,
      workspaces,
      query,
      principalName: principal.name,
      isAdmin: admin,
      refreshSeconds: o.refreshSeconds,
    };
  }

  app.get('/dashboard', async (request, reply) => {
    // The search box: a job id (or an audit row id) opens that job's page.
    const job = (request.query as Record<string, unknown>).job;
    if (typeof job === 'string' && job.trim()) return reply.redirect(taskHref(job.trim()), 303);
    return sendPage(request, reply, async () => renderOverviewPage(await view(request)));
  });
  app.get('/dashboard/content', async (request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(renderOverviewContent(await view(request)).text),
  );

  await dashboardTaskRoutes(app, { deps: o.deps, csrf, refreshSeconds: o.refreshSeconds });
}
