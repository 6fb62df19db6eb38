import { isAdmin } from '@fleet/ops';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { renderErrorPage } from '../dashboard/layout.ts';
import { toHttpError } from '../http-errors.ts';

/** Sends an HTML page; a refused request (4xx) becomes an HTML page saying why, with its status. */
export async function sendPage(
  request: FastifyRequest,
  reply: FastifyReply,
  render: () => Promise<string>,
): Promise<FastifyReply> {
  reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
  try {
    return reply.send(await render());
  } catch (error) {
    const { status, body, internal } = toHttpError(error);
    if (internal) throw error;
    const p = request.principal;
    return reply.code(status).send(
      renderErrorPage({
        status,
        message: body.error.message,
        principalName: p?.name,
        isAdmin: p && isAdmin(p.access),
      }),
    );
  }
}
