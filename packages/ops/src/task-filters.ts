import { TASK_STATUSES, TASK_TYPES } from '@fleet/db';
import { isSupportedTime, SUPPORTED_YEARS } from '@fleet/queues';
import { z } from 'zod';
import { invalidInput } from './errors.ts';
import { textProblem } from './text.ts';

const csv = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : v,
    z.array(item).min(1),
  );

const INSTANT_MESSAGE = 'must be an ISO 8601 time with an offset, e.g. 2026-01-31T12:00:00Z, or a date, 2026-01-31';
/**
 * A time filter: an ISO 8601 date-time with its offset or a calendar date (UTC midnight), that
 * exists (no February 31) and lies in the supported years; a Date passes as it is.
 */
const instant = z
  .union([z.date(), z.iso.datetime({ offset: true }), z.iso.date()], { error: INSTANT_MESSAGE })
  .transform((v) => (v instanceof Date ? v : new Date(v.length === 10 ? `${v}T00:00:00Z` : v)))
  .refine(isSupportedTime, `must be between ${SUPPORTED_YEARS.min} and ${SUPPORTED_YEARS.max}`);

/** An id-like filter value: printable text only (see text.ts). */
const idText = z
  .string()
  .min(1)
  .max(200)
  .superRefine((v, ctx) => {
    const problem = textProblem(v, 'id');
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * Filters of the task list, as strings arrive from a query string or CLI flags (numbers and
 * times are coerced; statuses and types may be comma-separated lists).
 */
export const taskFiltersSchema = z.strictObject({
  workspace_id: z.uuid({ error: 'must be a workspace UUID' }).optional(),
  task_type: csv(z.enum(TASK_TYPES, { error: `must be one of ${TASK_TYPES.join(', ')}` })).optional(),
  status: csv(z.enum(TASK_STATUSES, { error: `must be one of ${TASK_STATUSES.join(', ')}` })).optional(),
  queue: idText.optional(),
  job_id: idText.optional(),
  /** Rows created at or after this time. */
  since: instant.optional(),
  /** Rows created before this time. */
  until: instant.optional(),
  limit: z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be between 1 and 500')
    .max(500, 'must be between 1 and 500')
    .default(50),
  cursor: z.string().min(1).max(500).optional(),
});

export type TaskFilters = z.output<typeof taskFiltersSchema>;
export type TaskFiltersInput = z.input<typeof taskFiltersSchema>;

/** Parses raw filters; throws an `invalid_input` OpsError listing every bad field. */
export function parseTaskFilters(raw: unknown): TaskFilters {
  const result = taskFiltersSchema.safeParse(raw ?? {});
  if (!result.success) {
    const fields = result.error.issues.flatMap((issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((k) => ({ field: k, message: 'is not a known filter' }))
        : // Filters are flat: a bad item of a list is reported on the list's name.
          [{ field: issue.path.length ? String(issue.path[0]) : '(filters)', message: issue.message }],
    );
    throw invalidInput(`invalid task filters: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}`, fields);
  }
  const f = result.data;
  if (f.since && f.until && f.since >= f.until) {
    throw invalidInput('invalid task filters: since must be before until', [
      { field: 'since', message: 'must be before until' },
    ]);
  }
  return f;
}
