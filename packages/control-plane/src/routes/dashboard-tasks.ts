import { cancellable, cancelTask, getTask, isAdmin, isOpsError, type OpsDeps, retryable, retryTask } from '@fleet/ops';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Csrf } from '../csrf.ts';
import { taskHref } from '../dashboard/tables.ts';
import { type Notice, renderTaskContent, renderTaskPage, type TaskView } from '../dashboard/task-page.ts';
import { sendPage } from './html-page.ts';

export interface DashboardTaskOptions {
  deps: OpsDeps;
  csrf: Csrf;
  refreshSeconds: number;
}

type TaskRequest = FastifyRequest<{ Params: { id: string }; Querystring: Record<string, unknown> }>;

/** Notices after an action that succeeded (the page is shown again with ?notice=<code>). */
const NOTICES: Record<string, Notice> = {
  cancelled: {
    tone: 'good',
    title: 'Cancelled.',
    text: 'The job does not run again; its attempt is recorded cancelled.',
  },
  'cancel-pending': {
    tone: 'warn',
    title: 'Will be cancelled when recovered.',
    text:
      'The worker holding the job has not stopped it yet (it is stopping, or it died): the job ends ' +
      'cancelled when it stops or is recovered, and never runs again.',
  },
  retried: {
    tone: 'good',
    title: 'Retried.',
    text: 'The failed job is back in its queue; its next attempt gets a row of its own.',
  },
  requeued: {
    tone: 'good',
    title: 'Requeued.',
    text: 'The finished task runs again as this new job (triggered by retry).',
  },
};

const ID = /^[\w.:@-]{1,200}$/;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function noticeFromQuery(q: Record<string, unknown>): Notice | null {
  const n = NOTICES[str(q.notice) ?? ''];
  if (!n) return null;
  const from = str(q.from);
  if (str(q.notice) === 'requeued' && from && ID.test(from)) {
    return { ...n, link: { href: taskHref(from), text: `previous job ${from}` } };
  }
  return n;
}

/** The task page: every attempt of a job, its timeline, and Retry/Cancel where allowed. */
export async function dashboardTaskRoutes(app: FastifyInstance, o: DashboardTaskOptions): Promise<void> {
  async function view(request: TaskRequest, notice: Notice | null): Promise<TaskView> {
    const principal = request.principal!;
    const access = principal.access;
    const queue = str(request.query.queue);
    // Everything the page shows and offers is decided by @fleet/ops with the viewer's access:
    // getTask (404 for what the viewer may not see), retryable and cancellable.
    const detail = await getTask(o.deps, request.params.id, { access, queue });
    const ws = detail.task?.workspace_id;
    const workspace = ws
      ? await o.deps.db.selectFrom('workspaces').select('name').where('id', '=', ws).executeTakeFirst()
      : undefined;
    return {
      detail,
      workspaceName: workspace?.name ?? null,
      actions: { cancel: cancellable(detail), retry: retryable(detail, access) },
      csrfToken: o.csrf.tokenFor(request),
      showWorker: isAdmin(access),
      notice,
      path: taskHref(request.params.id),
      queue,
      principalName: principal.name,
      isAdmin: isAdmin(access),
      refreshSeconds: o.refreshSeconds,
      now: new Date(),
    };
  }

  app.get<{ Params: { id: string }; Querystring: Record<string, unknown> }>(
    '/dashboard/tasks/:id',
    async (request, reply) =>
      sendPage(request, reply, async () => renderTaskPage(await view(request, noticeFromQuery(request.query)))),
  );
  app.get<{ Params: { id: string }; Querystring: Record<string, unknown> }>(
    '/dashboard/tasks/:id/content',
    async (request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(renderTaskContent(await view(request, noticeFromQuery(request.query))).text),
  );

  /** Where a successful action sends the browser (POST, redirect, GET). */
  function back(request: TaskRequest, notice: string) {
    const q = new URLSearchParams();
    const queue = str(request.query.queue);
    if (queue) q.set('queue', queue);
    q.set('notice', notice);
    return `${taskHref(request.params.id)}?${q}`;
  }

  /**
   * An action of the page. Success: 303 back to the page with a notice. A refusal of @fleet/ops
   * (already finished, not retryable now): the page itself, with the refusal and its status.
   */
  async function act(request: TaskRequest, reply: FastifyReply, title: string, run: () => Promise<string>) {
    o.csrf.verify(request);
    let location: string;
    try {
      location = await run();
    } catch (error) {
      if (!isOpsError(error) || (error.kind !== 'conflict' && error.kind !== 'invalid_input')) throw error;
      const status = error.kind === 'conflict' ? 409 : 400;
      return sendPage(request, reply, async () => {
        reply.code(status);
        return renderTaskPage(await view(request, { tone: 'bad', title, text: error.message }));
      });
    }
    return reply.redirect(location, 303);
  }

  app.post<{ Params: { id: string }; Querystring: Record<string, unknown> }>(
    '/dashboard/tasks/:id/cancel',
    async (request, reply) =>
      act(request, reply, 'Already finished.', async () => {
        const r = await cancelTask(o.deps, request.params.id, {
          access: request.principal!.access,
          queue: str(request.query.queue),
          reason: `cancelled from the dashboard (by ${isAdmin(request.principal!.access) ? 'admin' : `key ${request.principal!.name}`})`,
        });
        return back(request, r.outcome === 'cancelled' ? 'cancelled' : 'cancel-pending');
      }),
  );

  app.post<{ Params: { id: string }; Querystring: Record<string, unknown> }>(
    '/dashboard/tasks/:id/retry',
    async (request, reply) =>
      act(request, reply, 'Not retried.', async () => {
        const r = await retryTask(o.deps, request.params.id, {
          access: request.principal!.access,
          queue: str(request.query.queue),
        });
        if (r.action === 'retried') return back(request, 'retried');
        const q = new URLSearchParams({ queue: r.queue, notice: 'requeued', from: r.previousJobId });
        return `${taskHref(r.jobId)}?${q}`;
      }),
  );
}
