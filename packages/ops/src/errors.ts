/**
 * Errors of the operations layer. Each carries a `kind` that both front ends map on their own:
 * the HTTP API to a status code, the CLI to an exit code and a message.
 */
export type OpsErrorKind = 'invalid_input' | 'forbidden' | 'not_found' | 'conflict' | 'payload_too_large';

export interface FieldProblem {
  field: string;
  message: string;
}

export class OpsError extends Error {
  override name = 'OpsError';
  constructor(
    readonly kind: OpsErrorKind,
    message: string,
    readonly fields: FieldProblem[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Input that fails validation; `fields` names every bad field. */
export function invalidInput(message: string, fields: FieldProblem[] = []): OpsError {
  return new OpsError('invalid_input', message, fields);
}

export function forbidden(message: string): OpsError {
  return new OpsError('forbidden', message);
}

export function notFound(message: string): OpsError {
  return new OpsError('not_found', message);
}

export function conflict(message: string): OpsError {
  return new OpsError('conflict', message);
}

export function isOpsError(error: unknown): error is OpsError {
  return error instanceof OpsError;
}
