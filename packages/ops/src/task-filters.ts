import { TASK_STATUSES, TASK_TYPES } from '@fleet/db';
import { z } from 'zod';
import { invalidInput } from './errors.ts';
import { csv, idText, instant, wholeNumber } from './filter-values.ts';

/**
 * Filters of the task list, as strings arrive from a query string or CLI flags (numbers and
 * times are parsed; statuses and types may be comma-separated lists).
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
  limit: wholeNumber(1, 500).default(50),
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
