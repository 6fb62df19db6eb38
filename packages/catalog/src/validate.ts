import type { z } from 'zod';
import { catalog, findJob, isQueueName, type JobDefinition, QUEUE_NAMES } from './catalog.ts';

export interface FieldProblem {
  /** Dotted path of the field, or '(payload)' for the whole object. */
  field: string;
  message: string;
}

/**
 * A payload that does not match its job's schema. The message lists every bad field and what is
 * expected; it never echoes the values (they may be large or secret).
 */
export class PayloadValidationError extends Error {
  override name = 'PayloadValidationError';
  constructor(
    readonly queue: string,
    readonly job: string,
    readonly problems: FieldProblem[],
  ) {
    super(`Invalid payload for ${queue}/${job}: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`);
  }
}

/** A queue or job name that is not in the catalog. */
export class UnknownJobError extends Error {
  override name = 'UnknownJobError';
  constructor(
    readonly queue: string,
    readonly job: string,
  ) {
    const known = isQueueName(queue)
      ? `jobs of ${queue}: ${Object.keys(catalog[queue].jobs).join(', ')}`
      : `queues: ${QUEUE_NAMES.join(', ')}`;
    super(`Unknown ${isQueueName(queue) ? `job "${job}" on queue ${queue}` : `queue "${queue}"`}; known ${known}`);
  }
}

/** The value at `path` in `data` (zod does not report the input unless asked to). */
function valueAt(data: unknown, path: PropertyKey[]): unknown {
  let value = data;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function describeIssue(issue: z.core.$ZodIssue, data: unknown): FieldProblem[] {
  if (issue.code === 'unrecognized_keys') {
    const base = issue.path.join('.');
    return issue.keys.map((key) => ({
      field: base ? `${base}.${key}` : key,
      message: 'is not a known field; remove it',
    }));
  }
  const field = issue.path.length > 0 ? issue.path.map(String).join('.') : '(payload)';
  const missing = issue.code === 'invalid_type' && valueAt(data, issue.path) === undefined;
  return [{ field, message: missing ? 'is required' : issue.message }];
}

/** Byte length of the payload as JSON; `undefined` when it is not serialisable. */
function jsonBytes(data: unknown): number | undefined {
  try {
    return Buffer.byteLength(JSON.stringify(data) ?? '', 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Validates `data` for `queue`/`job` and returns the parsed payload (defaults applied).
 * Throws UnknownJobError or PayloadValidationError.
 */
export function validatePayload(
  queue: string,
  job: string,
  data: unknown,
  /** The payload's JSON size when the caller already measured it (bytes, or an upper bound). */
  knownBytes?: number,
): { def: JobDefinition; payload: unknown } {
  const def = findJob(queue, job);
  if (!def || !isQueueName(queue)) throw new UnknownJobError(queue, job);
  const limit = catalog[queue].maxPayloadBytes;
  const bytes =
    knownBytes !== undefined && Number.isFinite(knownBytes) && knownBytes <= limit ? knownBytes : jsonBytes(data);
  if (bytes === undefined) {
    throw new PayloadValidationError(queue, job, [{ field: '(payload)', message: 'is not JSON-serialisable' }]);
  }
  if (bytes > limit) {
    throw new PayloadValidationError(queue, job, [
      { field: '(payload)', message: `is ${bytes} bytes; the limit for ${queue} is ${limit} bytes` },
    ]);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new PayloadValidationError(queue, job, [{ field: '(payload)', message: 'must be a JSON object' }]);
  }
  const result = def.payload.safeParse(data);
  if (!result.success)
    throw new PayloadValidationError(
      queue,
      job,
      result.error.issues.flatMap((i) => describeIssue(i, data)),
    );
  return { def, payload: result.data };
}
