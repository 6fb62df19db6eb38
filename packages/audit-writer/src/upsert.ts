import { type Database, poolOf } from '@fleet/db';
import { CompiledQuery, type Kysely } from 'kysely';
import { taskRowId } from './row-id.ts';
import { type RowState, statusRankSql } from './rows.ts';

/** Name of the prepared upsert on each audit connection (pg prepares it once per connection). */
export const UPSERT_STATEMENT = 'fleet_upsert_autonomous_tasks';

/**
 * Many attempt rows in one statement: the rows travel as one array per column and are unnested
 * server-side, so the text is the same for any batch size and can be prepared once.
 *
 * The id is the attempt's own (taskRowId), so every writer of one attempt inserts the same one.
 * created_at is the job's creation time, the partition key, the same in every write of the
 * attempt (migration 140). Conflicts on (queue_name, job_id, attempt, created_at) update the row
 * only when the new status ranks higher (STATUS_RANK, rendered by statusRankSql): replays are no-ops
 * and a terminal row never changes again.
 */
export const UPSERT_SQL = `
INSERT INTO autonomous_tasks AS t (
  id, queue_name, job_id, attempt, workspace_id, task_type, status, input_data, output_data,
  error_message, executed_at, completed_at, triggered_by, agent_name, cost_estimate_usd, created_at
)
SELECT * FROM unnest(
  $1::uuid[], $2::text[], $3::text[], $4::int4[], $5::uuid[], $6::text[], $7::text[], $8::jsonb[],
  $9::jsonb[], $10::text[], $11::timestamptz[], $12::timestamptz[], $13::text[], $14::text[], $15::numeric[],
  $16::timestamptz[]
)
ON CONFLICT (queue_name, job_id, attempt, created_at) DO UPDATE SET
  status            = excluded.status,
  workspace_id      = coalesce(t.workspace_id, excluded.workspace_id),
  input_data        = CASE WHEN t.input_data = '{}'::jsonb THEN excluded.input_data ELSE t.input_data END,
  output_data       = excluded.output_data,
  error_message     = excluded.error_message,
  executed_at       = CASE WHEN t.status = 'pending' THEN excluded.executed_at ELSE t.executed_at END,
  completed_at      = excluded.completed_at,
  agent_name        = coalesce(excluded.agent_name, t.agent_name),
  cost_estimate_usd = excluded.cost_estimate_usd
WHERE (${statusRankSql('excluded.status')})
    > (${statusRankSql('t.status')})`;

/** The statement's 16 parameters: one array per column, in UPSERT_SQL's order. */
export function upsertParams(rows: RowState[]): unknown[] {
  const col = <T>(pick: (r: RowState) => T) => rows.map(pick);
  return [
    col((r) => taskRowId(r.key)),
    col((r) => r.key.queueName),
    col((r) => r.key.jobId),
    col((r) => r.key.attempt),
    col((r) => r.workspaceId),
    col((r) => r.taskType),
    col((r) => r.status),
    col((r) => r.inputData),
    col((r) => r.outputData),
    col((r) => r.errorMessage),
    col((r) => r.executedAt),
    col((r) => r.completedAt),
    col((r) => r.triggeredBy),
    col((r) => r.agentName),
    col((r) => r.costUsd),
    col((r) => r.createdAt),
  ];
}

/**
 * Writes `rows` in one statement. On a Kysely made by createDb the statement goes straight to its
 * pg pool as a named prepared statement: parsed and planned once per connection instead of once
 * per batch, which Kysely cannot do. Any other Kysely (a transaction, a test's own) sends the
 * same text unprepared.
 */
export async function upsertRows(db: Kysely<Database>, rows: RowState[]): Promise<void> {
  if (rows.length === 0) return;
  const values = upsertParams(rows);
  const pool = poolOf(db);
  if (pool) await pool.query({ name: UPSERT_STATEMENT, text: UPSERT_SQL, values });
  else await db.executeQuery(CompiledQuery.raw(UPSERT_SQL, values));
}
