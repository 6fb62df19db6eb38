import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { isOpsError, type OpsErrorKind } from '@fleet/ops';
import { EnqueueUnconfirmedError } from '@fleet/queues';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/** Every error body: `{ error: { code, message, fields? } }`. */
export interface ErrorBody {
  error: { code: string; message: string; fields?: { field: string; message: string }[] };
}

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: { field: string; message: string }[],
  ) {
    super(message);
  }
}

const KIND_STATUS: Record<OpsErrorKind, number> = {
  invalid_input: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
};

const STATUS_CODE: Record<number, string> = {
  400: 'invalid_input',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'timeout',
  409: 'conflict',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  431: 'headers_too_large',
  503: 'unavailable',
};

/** Longest request URL (path and query) accepted; longer ones get 414. */
export const MAX_URL_LENGTH = 8_192;

/** Maps any thrown value to a status and a JSON body; unknown errors are 500 without details. */
export function toHttpError(error: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (error instanceof HttpError) {
    return {
      status: error.status,
      body: { error: { code: error.code, message: error.message, ...(error.fields ? { fields: error.fields } : {}) } },
      internal: false,
    };
  }
  if (error instanceof EnqueueUnconfirmedError) {
    // Not a failure of the request as such: Redis may have the job. The client polls the job id,
    // or repeats the request with the same Idempotency-Key, which never adds a second job.
    return {
      status: 503,
      body: { error: { code: 'enqueue_unconfirmed', message: error.message } },
      internal: false,
    };
  }
  if (isOpsError(error)) {
    return {
      status: KIND_STATUS[error.kind],
      body: {
        error: { code: error.kind, message: error.message, ...(error.fields.length ? { fields: error.fields } : {}) },
      },
      internal: false,
    };
  }
  const e = error as Partial<FastifyError> & { statusCode?: number; message?: string };
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    const message =
      status === 413
        ? 'request body is too large'
        : e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'send the body as application/json'
          : e.code === 'FST_ERR_BAD_URL'
            ? 'the URL is not valid: a percent-escape does not decode to UTF-8'
            : e.code === 'FST_ERR_MAX_PARAM_LENGTH'
              ? 'a path parameter of the URL is too long'
              : (e.message ?? 'bad request');
    return { status, body: { error: { code: STATUS_CODE[status] ?? 'bad_request', message } }, internal: false };
  }
  return {
    status: 500,
    body: { error: { code: 'internal', message: 'internal error; see the service logs' } },
    internal: true,
  };
}

/** Errors fastify raises before routing (bad URL encoding, over-long path parameter). */
export function frameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendError(request, reply, error);
}

/**
 * Errors of the HTTP parser itself (headers too large, malformed request line): the request never
 * reaches fastify, so the answer is written on the socket, in the same JSON shape.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const message =
    status === 431
      ? 'the request headers (URL included) are too large'
      : status === 408
        ? 'the request took too long to arrive'
        : 'the request is not valid HTTP';
  const body = JSON.stringify({ error: { code: STATUS_CODE[status], message } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  const { status, body, internal } = toHttpError(error);
  if (internal) request.log.error({ err: error }, 'request failed');
  else if (status >= 500) request.log.warn({ err: error }, 'request failed');
  return reply.code(status).type('application/json').send(body);
}
