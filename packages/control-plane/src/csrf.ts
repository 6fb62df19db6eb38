import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { readCookie, SESSION_COOKIE } from './auth.ts';
import { HttpError } from './http-errors.ts';

/** Name of the form field that carries the token. */
export const CSRF_FIELD = '_csrf';

/**
 * CSRF tokens of the dashboard's forms (retry, cancel): an HMAC of the session cookie's value,
 * so a token is worth nothing with another session, nothing is stored, and rotating the admin
 * key voids tokens together with sessions.
 *
 * SameSite=Strict and the same-origin check in auth.ts already stop a cross-site post; the token
 * also stops a post the dashboard did not render (a page of another service on the same host,
 * a browser that ignores SameSite), which the cookie alone would authenticate.
 */
export function createCsrf(adminKey: string) {
  const key = createHash('sha256').update(`fleet-csrf:${adminKey}`).digest();
  const tokenOf = (session: string) => createHmac('sha256', key).update(session).digest('base64url');
  const sessionOf = (request: FastifyRequest) =>
    request.authVia === 'session' ? readCookie(request.headers.cookie, SESSION_COOKIE) : undefined;

  return {
    /** The token for the request's dashboard session; null when it was not made with one. */
    tokenFor(request: FastifyRequest): string | null {
      const session = sessionOf(request);
      return session ? tokenOf(session) : null;
    },

    /** Throws 403 unless the request comes with a dashboard session and that session's token. */
    verify(request: FastifyRequest): void {
      const session = sessionOf(request);
      if (!session) {
        throw new HttpError(403, 'forbidden', 'dashboard actions need a dashboard session; use the API with a key');
      }
      const body = request.body as Record<string, unknown> | undefined;
      const given = typeof body?.[CSRF_FIELD] === 'string' ? Buffer.from(body[CSRF_FIELD] as string) : null;
      const expected = Buffer.from(tokenOf(session));
      if (!given || given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new HttpError(
          403,
          'forbidden',
          `missing or wrong ${CSRF_FIELD} token: submit the form of the dashboard page (reload it if it is old)`,
        );
      }
    },
  };
}

export type Csrf = ReturnType<typeof createCsrf>;
