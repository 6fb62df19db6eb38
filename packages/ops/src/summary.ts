import { type Database, TASK_TYPES } from '@fleet/db';
import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import { type Access, ADMIN, assertWorkspace, canSeeTask } from './access.ts';
import { invalidInput } from './errors.ts';
import { wholeNumber } from './filter-values.ts';

export interface TaskTypeSummary {
  taskType: string;
  totalExecutions: number;
  successfulExecutions: number;
  failedExecutions: number;
  /** Average duration of the rows that have one; null when none has. */
  avgDurationMs: number | null;
  /** Exact decimal, as a string. */
  totalCostUsd: string;
  lastExecution: Date | null;
}

const summaryInput = z.strictObject({
  workspace_id: z.uuid({ error: 'must be a workspace UUID' }),
  task_type: z.enum(TASK_TYPES, { error: `must be one of ${TASK_TYPES.join(', ')}` }).optional(),
  hours: wholeNumber(1, 8784).default(24),
});

export type SummaryInput = z.input<typeof summaryInput>;

/**
 * Per-task-type figures for one workspace over the last `hours`, from the database function
 * get_autonomous_task_summary (the same numbers anyone gets with SQL).
 */
export async function summary(
  db: Kysely<Database>,
  input: SummaryInput,
  access: Access = ADMIN,
): Promise<TaskTypeSummary[]> {
  const parsed = summaryInput.safeParse(input);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => ({
      field: i.path.map(String).join('.') || '(input)',
      message:
        i.code === 'invalid_type' && (input as Record<string, unknown>)[String(i.path[0])] === undefined
          ? 'is required'
          : i.message,
    }));
    throw invalidInput(`invalid summary request: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}`, fields);
  }
  const { workspace_id, task_type, hours } = parsed.data;
  assertWorkspace(access, workspace_id);
  const { rows } = await sql<{
    task_type: string;
    total_executions: number;
    successful_executions: number;
    failed_executions: number;
    avg_duration_ms: string | null;
    total_cost_usd: string;
    last_execution: Date | null;
  }>`SELECT * FROM get_autonomous_task_summary(${workspace_id}::uuid, ${task_type ?? null}::text, ${hours}::int)`.execute(
    db,
  );
  return rows
    .filter((r) => canSeeTask(access, { workspace_id, task_type: r.task_type }))
    .map((r) => ({
      taskType: r.task_type,
      totalExecutions: Number(r.total_executions),
      successfulExecutions: Number(r.successful_executions),
      failedExecutions: Number(r.failed_executions),
      avgDurationMs: r.avg_duration_ms === null ? null : Number(r.avg_duration_ms),
      totalCostUsd: r.total_cost_usd,
      lastExecution: r.last_execution,
    }));
}
