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

export function checkRequestText(request: FastifyRequest): void {
  const problem =
    findTextProblem(request.params ?? {}, '', 'id') ??
    findTextProblem(request.query ?? {}, '', 'id') ??
    findTextProblem(request.body, '', 'text');
  if (problem) {
    throw new HttpError(400, 'invalid_input', `invalid request: ${problem.field} ${problem.message}`, [problem]);
  }
}
