import { isOpsError, type OpsErrorKind } from '@fleet/ops';
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
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'unavailable',
};

/** Maps any thrown value to a status and a JSON body; unknown errors are 500 without details. */
export function toHttpError(error: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (error instanceof HttpError) {
    return {
      status: error.status,
      body: { error: { code: error.code, message: error.message, ...(error.fields ? { fields: error.fields } : {}) } },
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
          : (e.message ?? 'bad request');
    return { status, body: { error: { code: STATUS_CODE[status] ?? 'bad_request', message } }, internal: false };
  }
  return {
    status: 500,
    body: { error: { code: 'internal', message: 'internal error; see the service logs' } },
    internal: true,
  };
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  const { status, body, internal } = toHttpError(error);
  if (internal) request.log.error({ err: error }, 'request failed');
  else if (status >= 500) request.log.warn({ err: error }, 'request failed');
  return reply.code(status).type('application/json').send(body);
}
