import { isSupportedTime } from '@fleet/catalog';
import { isUuid } from '@fleet/db';
import { invalidInput } from './errors.ts';

/**
 * Keyset cursor of the task list: the (created_at, id) of the last row of a page. created_at is
 * carried as Postgres text with microseconds (a JS Date would lose them and repeat or skip rows
 * created within the same millisecond).
 */
export interface TaskCursor {
  createdAt: string;
  id: string;
}

const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export function encodeCursor(cursor: TaskCursor): string {
  return Buffer.from(`${cursor.createdAt}|${cursor.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(text: string): TaskCursor {
  const [createdAt, id, extra] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  // The time must be a real one: the pattern lets through February 31 and hour 24, which
  // JavaScript rolls over and Postgres refuses; a round trip through Date catches both.
  const date = createdAt !== undefined && TS.test(createdAt) ? new Date(createdAt) : null;
  const valid = date !== null && isSupportedTime(date) && date.toISOString().slice(0, 19) === createdAt!.slice(0, 19);
  if (extra !== undefined || !valid || createdAt === undefined || !id || !isUuid(id)) {
    throw invalidInput('invalid cursor', [
      { field: 'cursor', message: 'is not a cursor returned by this API; pass next_cursor unchanged' },
    ]);
  }
  return { createdAt, id };
}
