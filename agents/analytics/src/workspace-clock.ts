/**
 * A workspace's calendar: its time zone, "today" there, and the instants a local day spans.
 * Postgres converts, so the analytics days agree with the zone data the database uses everywhere
 * else, and a day across a DST change is 23 or 25 hours long.
 */
import type { Database } from '@fleet/db';
import { PermanentError } from '@fleet/runtime';
import { type Kysely, sql } from 'kysely';
import type { Day } from './periods.ts';

export interface WorkspaceClock {
  workspaceId: string;
  timezone: string;
  /** Today's date in the workspace's zone, as of the `now` it was loaded with. */
  today: Day;
}

export interface DayWindow {
  day: Day;
  /** First instant of the local day. */
  start: Date;
  /** First instant of the next local day (exclusive end). */
  end: Date;
}

export async function loadWorkspaceClock(
  db: Kysely<Database>,
  workspaceId: string,
  now: Date,
): Promise<WorkspaceClock> {
  const ws = await db
    .selectFrom('workspaces')
    .select(['id', 'timezone'])
    .where('id', '=', workspaceId)
    .executeTakeFirst();
  if (!ws) throw new PermanentError(`workspace_id ${workspaceId}: no such workspace`);
  let today: string;
  try {
    const { rows } = await sql<{ today: string }>`
      SELECT ((${now}::timestamptz AT TIME ZONE ${ws.timezone})::date)::text AS today
    `.execute(db);
    today = rows[0]!.today;
  } catch (error) {
    // 22023 invalid_parameter_value: 'time zone "…" not recognized'
    if ((error as { code?: string }).code !== '22023') throw error;
    throw new PermanentError(
      `workspaces.timezone of ${workspaceId} is ${JSON.stringify(ws.timezone)}, not an IANA time zone (e.g. Europe/Berlin)`,
    );
  }
  return { workspaceId: ws.id, timezone: ws.timezone, today };
}

/** The instants `[start, end)` of local `day` in `timezone`. */
export async function dayWindow(db: Kysely<Database>, timezone: string, day: Day): Promise<DayWindow> {
  const { rows } = await sql<{ start: Date; end: Date }>`
    SELECT (${day}::date)::timestamp AT TIME ZONE ${timezone} AS start,
           (${day}::date + 1)::timestamp AT TIME ZONE ${timezone} AS "end"
  `.execute(db);
  return { day, start: rows[0]!.start, end: rows[0]!.end };
}
