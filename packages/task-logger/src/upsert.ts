import type { Database } from '@fleet/db';
import { type Kysely, sql } from 'kysely';
import { taskRowId } from './row-id.ts';
import type { RowState } from './rows.ts';

/**
 * Writes many attempt rows in one statement: the rows travel as one array per column and are
 * unnested server-side, so the statement text is the same for any batch size (the server's plan
 * cache and pg's parser see one shape).
 *
 * The id is the attempt's own (taskRowId), so every writer of one attempt inserts the same one.
 * created_at is the job's creation time, the partition key, the same in every write of the
 * attempt (migration 140). Conflicts on (queue_name, job_id, attempt, created_at) update the row
 * only when the new status ranks higher (pending < running < terminal): replays are no-ops and a
 * terminal row never changes again.
 */
export async function upsertRows(db: Kysely<Database>, rows: RowState[]): Promise<void> {
  if (rows.length === 0) return;
  const col = <T>(pick: (r: RowState) => T) => rows.map(pick);
  await sql`
    INSERT INTO autonomous_tasks AS t (
      id, queue_name, job_id, attempt, workspace_id, task_type, status, input_data, output_data,
      error_message, executed_at, completed_at, triggered_by, agent_name, cost_estimate_usd, created_at
    )
    SELECT * FROM unnest(
      ${col((r) => taskRowId(r.key))}::uuid[],
      ${col((r) => r.key.queueName)}::text[],
      ${col((r) => r.key.jobId)}::text[],
      ${col((r) => r.key.attempt)}::int4[],
      ${col((r) => r.workspaceId)}::uuid[],
      ${col((r) => r.taskType)}::text[],
      ${col((r) => r.status)}::text[],
      ${col((r) => r.inputData)}::jsonb[],
      ${col((r) => r.outputData)}::jsonb[],
      ${col((r) => r.errorMessage)}::text[],
      ${col((r) => r.executedAt)}::timestamptz[],
      ${col((r) => r.completedAt)}::timestamptz[],
      ${col((r) => r.triggeredBy)}::text[],
      ${col((r) => r.agentName)}::text[],
      ${col((r) => r.costUsd)}::numeric[],
      ${col((r) => r.createdAt)}::timestamptz[]
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
    WHERE (CASE excluded.status WHEN 'pending' THEN 0 WHEN 'running' THEN 1 ELSE 2 END)
        > (CASE t.status WHEN 'pending' THEN 0 WHEN 'running' THEN 1 ELSE 2 END)
  `.execute(db);
}
