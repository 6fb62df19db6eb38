import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Database } from '@fleet/db';
import { assertAdmin, type Principal, verifyApiKey } from '@fleet/ops';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { HttpError } from './http-errors.ts';

export const SESSION_COOKIE = 'fleet_session';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** How the principal was established: a key header or the dashboard's session cookie. */
    authVia?: 'key' | 'session';
  }
}

export interface AuthOptions {
  db: Kysely<Database>;
  adminKey: string;
  sessionTtlMs: number;
}

/**
 * API keys travel in `Authorization: Bearer <key>` or `X-API-Key`; the dashboard (a browser that
 * cannot add headers to navigations) uses a signed, HttpOnly session cookie naming the key's id.
 * The cookie is checked against api_keys on every request, so revoking a key ends its sessions.
 */
export function createAuth(options: AuthOptions) {
  // Sessions are signed with a key derived from the admin key: rotating the admin key logs
  // everybody out, and no extra secret has to be configured.
  const sessionKey = createHash('sha256').update(`fleet-session:${options.adminKey}`).digest();

  function sign(payload: string): string {
    return createHmac('sha256', sessionKey).update(payload).digest('base64url');
  }

  function issueSession(principal: Principal, now = Date.now()): { value: string; maxAgeSeconds: number } {
    const payload = Buffer.from(JSON.stringify({ kid: principal.id, exp: now + options.sessionTtlMs })).toString(
      'base64url',
    );
    return { value: `${payload}.${sign(payload)}`, maxAgeSeconds: Math.floor(options.sessionTtlMs / 1000) };
  }

  async function principalFromSession(value: string): Promise<Principal | null> {
    const [payload, mac] = value.split('.');
    if (!payload || !mac) return null;
    const expected = Buffer.from(sign(payload));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    let claims: { kid?: unknown; exp?: unknown };
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return null;
    }
    if (typeof claims.exp !== 'number' || claims.exp < Date.now() || typeof claims.kid !== 'string') return null;
    if (claims.kid === 'admin') return { id: 'admin', name: 'admin', access: { kind: 'admin' } };
    if (!/^[0-9a-f-]{36}$/i.test(claims.kid)) return null;
    const row = await options.db
      .selectFrom('api_keys')
      .select(['id', 'name', 'workspace_ids'])
      .where('id', '=', claims.kid)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return row ? { id: row.id, name: row.name, access: { kind: 'workspaces', workspaceIds: row.workspace_ids } } : null;
  }

  function presentedKey(request: FastifyRequest): string | undefined {
    const header = request.headers.authorization;
    if (header) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      return m ? m[1] : '';
    }
    const x = request.headers['x-api-key'];
    return typeof x === 'string' ? x.trim() : undefined;
  }

  /** Establishes request.principal; throws 401 when no valid credential is presented. */
  async function authenticate(request: FastifyRequest): Promise<Principal> {
    const key = presentedKey(request);
    if (key !== undefined) {
      const principal = key ? await verifyApiKey(options.db, key, { adminKey: options.adminKey }) : null;
      if (!principal) throw new HttpError(401, 'unauthorized', 'the API key is unknown or revoked');
      request.principal = principal;
      request.authVia = 'key';
      return principal;
    }
    const cookie = readCookie(request.headers.cookie, SESSION_COOKIE);
    if (cookie) {
      const principal = await principalFromSession(cookie);
      if (principal) {
        // A cookie rides along with cross-site requests: state changes need a same-origin request.
        if (!['GET', 'HEAD', 'OPTIONS'].includes(request.method) && !sameOrigin(request)) {
          throw new HttpError(403, 'forbidden', 'cross-site request refused; send the API key in a header');
        }
        request.principal = principal;
        request.authVia = 'session';
        return principal;
      }
    }
    throw new HttpError(
      401,
      'unauthorized',
      'an API key is required: send "Authorization: Bearer <key>" or "X-API-Key: <key>"',
    );
  }

  return { authenticate, issueSession, principalFromSession };
}

export type Auth = ReturnType<typeof createAuth>;

/** The access rule of @fleet/ops for things only operators may use; `what` names the thing. */
export function requireAdmin(request: FastifyRequest, what = 'this'): void {
  if (!request.principal) throw new HttpError(401, 'unauthorized', 'an API key is required');
  assertAdmin(request.principal.access, what);
}

function sameOrigin(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site === 'same-origin') return true;
  const origin = request.headers.origin ?? request.headers.referer;
  if (typeof origin !== 'string') return false;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/**
 * The value of cookie `name`, or undefined. A value that is not valid percent-encoding is no
 * cookie at all: it cannot be one this service set (its values are base64url).
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

export function clearSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
}

export type { FastifyReply };
