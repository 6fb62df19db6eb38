import { findTextProblem } from '@fleet/ops';
import type { FastifyRequest } from 'fastify';
import { HttpError, MAX_URL_LENGTH } from './http-errors.ts';

/**
 * Refuses what no route accepts, before any route sees it: URLs over MAX_URL_LENGTH (414), and
 * control characters, NUL, lone surrogates or deep nesting in path parameters, query parameters
 * or the body (400 naming the field; see textProblem in @fleet/ops). Routes then validate their
 * own fields; none of them can hand such text to Postgres.
 */
export function checkUrlLength(request: FastifyRequest): void {
  if (request.url.length > MAX_URL_LENGTH) {
    throw new HttpError(414, 'uri_too_long', `the URL is longer than ${MAX_URL_LENGTH} characters`);
  }
}

/**
 * Bodies are read as UTF-8 whatever they claim; one labelled with another charset would be
 * misread rather than refused, so it is refused (415).
 */
export function checkCharset(request: FastifyRequest): void {
  const type = request.headers['content-type'];
  if (typeof type !== 'string') return;
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(type)?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new HttpError(415, 'unsupported_media_type', `send the body as UTF-8 (got charset=${charset})`);
  }
}

/**
 * The query string's percent-escapes must decode to UTF-8. Fastify's query parser keeps a bad
 * escape as literal text (where a bad escape in the path is an error); refusing it here treats
 * both parts of the URL alike.
 */
function queryEncodingProblem(url: string): { field: string; message: string } | null {
  const q = url.indexOf('?');
  if (q < 0) return null;
  for (const part of url.slice(q + 1).split('&')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    try {
      decodeURIComponent(part.replaceAll('+', ' '));
    } catch {
      let field = name;
      try {
        field = decodeURIComponent(name);
      } catch {}
      return { field: field || '(query)', message: 'is not valid percent-encoding of UTF-8 text' };
    }
  }
  return null;
}

export function checkRequestText(request: FastifyRequest): void {
  const problem =
    queryEncodingProblem(request.url) ??
    findTextProblem(request.params ?? {}, '', 'id') ??
    findTextProblem(request.query ?? {}, '', 'id') ??
    findTextProblem(request.body, '', 'text');
  if (problem) {
    throw new HttpError(400, 'invalid_input', `invalid request: ${problem.field} ${problem.message}`, [problem]);
  }
}
