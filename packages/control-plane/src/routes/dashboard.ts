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
import { type DashboardView, renderContent, renderLogin, renderPage } from '../dashboard/page.ts';
import { HttpError } from '../http-errors.ts';

const ASSETS: Record<string, string> = {
  'dashboard.css': 'text/css; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
};

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

  app.get('/', async (_request, reply) => reply.redirect('/dashboard'));

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

  async function view(request: FastifyRequest): Promise<DashboardView> {
    const principal = request.principal!;
    const q = request.query as Record<string, string>;
    const raw = Object.fromEntries(
      ['workspace_id', 'task_type', 'status', 'hours'].filter((k) => q[k]).map((k) => [k, q[k]]),
    );
    const filters = parseStatsFilters({ ...raw, stuck_minutes: o.stuckMinutes });
    const access = principal.access;
    const admin = isAdmin(access);
    let wsQuery = o.deps.db.selectFrom('workspaces').select(['id', 'name']).orderBy('name').limit(500);
    if (access.kind === 'workspaces') wsQuery = wsQuery.where('id', 'in', [...access.workspaceIds]);
    const [stats, recent, queues, workspaces] = await Promise.all([
      dashboardStats(o.deps.db, filters, access),
      listTasks(
        o.deps.db,
        {
          workspace_id: filters.workspace_id,
          task_type: filters.task_type,
          status: filters.status,
          since: new Date(Date.now() - filters.hours * 3_600_000).toISOString(),
          limit: 25,
        },
        access,
      ),
      // Fleet-wide figures: a workspace key's session gets none (see queueCounts).
      admin ? queueCounts(o.deps.producer, access) : null,
      wsQuery.execute(),
    ]);
    return {
      stats,
      recent: recent.tasks,
      queues,
      workspaces,
      principalName: principal.name,
      isAdmin: admin,
      refreshSeconds: o.refreshSeconds,
    };
  }

  app.get('/dashboard', async (request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(renderPage(await view(request))),
  );
  app.get('/dashboard/content', async (request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(renderContent(await view(request)).text),
  );
}
