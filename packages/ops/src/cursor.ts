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
  if (extra !== undefined || !createdAt || !id || !TS.test(createdAt) || !isUuid(id)) {
    throw invalidInput('invalid cursor', [
      { field: 'cursor', message: 'is not a cursor returned by this API; pass next_cursor unchanged' },
    ]);
  }
  return { createdAt, id };
}
