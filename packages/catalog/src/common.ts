import { z } from 'zod';

/** A workspace id: a UUID. The message says so, since non-UUID ids are a common mistake. */
export const workspaceId = z.uuid({ error: 'must be a workspace UUID, e.g. 5b1f0c8e-2f4a-4c1d-9b7e-3a2d1c0b9a8f' });

/** Any other row id. */
export const rowId = z.uuid({ error: 'must be a UUID' });

/**
 * Times the fleet accepts from outside: years 1970 to 9999. Postgres and JavaScript both go
 * further, but not equally far, and no job or filter has a use for earlier or later times.
 */
export const SUPPORTED_YEARS = { min: 1970, max: 9999 } as const;
const RANGE_MESSAGE = `must be between ${SUPPORTED_YEARS.min} and ${SUPPORTED_YEARS.max}`;

/** Refinement of a string that parses as `toDate` gives: an unparseable one is left to the format check. */
function inRange(toDate: (v: string) => Date) {
  return (v: string) => {
    const date = toDate(v);
    return Number.isNaN(date.getTime()) || isSupportedTime(date);
  };
}

/** Whether `date` is a valid time within SUPPORTED_YEARS (UTC). */
export function isSupportedTime(date: Date): boolean {
  const year = date.getUTCFullYear();
  return !Number.isNaN(date.getTime()) && year >= SUPPORTED_YEARS.min && year <= SUPPORTED_YEARS.max;
}

/** A calendar day, 'YYYY-MM-DD', that exists, in the supported years. */
export const isoDate = z.iso.date({ error: 'must be a date in YYYY-MM-DD form' }).refine(
  inRange((v) => new Date(`${v}T00:00:00Z`)),
  RANGE_MESSAGE,
);

/** An ISO 8601 date-time with an offset, in the supported years. */
export const isoDateTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).refine(
  inRange((v) => new Date(v)),
  RANGE_MESSAGE,
);

/** A calendar month, 'YYYY-MM', in the supported years. */
export const isoMonth = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month in YYYY-MM form')
  .refine(
    inRange((v) => new Date(`${v}-01T00:00:00Z`)),
    RANGE_MESSAGE,
  );

const TRIGGER_VALUES = ['api', 'cron', 'system', 'manual', 'retry'] as const;

/** Who caused the job; stored as autonomous_tasks.triggered_by. The one list of triggers. */
export const triggeredBy = z.enum(TRIGGER_VALUES, { error: `must be one of ${TRIGGER_VALUES.join(', ')}` });

/** api, cron, system, manual or retry. */
export type Trigger = z.infer<typeof triggeredBy>;

/**
 * Fields every payload may carry besides its own. Payload objects are strict: an unknown key
 * (including `__proto__` and `constructor`) is an error, never silently ignored.
 */
export const baseFields = {
  triggered_by: triggeredBy.optional(),
};
