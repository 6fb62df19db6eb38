import { z } from 'zod';

/** A workspace id: a UUID. The message says so, since non-UUID ids are a common mistake. */
export const workspaceId = z.uuid({ error: 'must be a workspace UUID, e.g. 5b1f0c8e-2f4a-4c1d-9b7e-3a2d1c0b9a8f' });

/** Any other row id. */
export const rowId = z.uuid({ error: 'must be a UUID' });

/** A calendar day, 'YYYY-MM-DD', that exists. */
export const isoDate = z.iso.date({ error: 'must be a date in YYYY-MM-DD form' });

/** Who caused the job; stored as autonomous_tasks.triggered_by. */
export const triggeredBy = z.enum(['api', 'cron', 'system', 'manual', 'retry'], {
  error: 'must be one of api, cron, system, manual, retry',
});

/**
 * Fields every payload may carry besides its own. Payload objects are strict: an unknown key
 * (including `__proto__` and `constructor`) is an error, never silently ignored.
 */
export const baseFields = {
  triggered_by: triggeredBy.optional(),
};
