/**
 * The monthly AI budget of a workspace: its limit (workspaces.settings, else the env default) and
 * what it has spent this calendar month (UTC, as provider invoices are) according to the audit
 * trail.
 */
import type { Database, JsonObject } from '@fleet/db';
import { type Kysely, sql } from 'kysely';

/** workspaces.settings key holding the monthly limit in USD. */
export const BUDGET_SETTING = 'monthly_ai_budget_usd';

export interface Budget {
  limitUsd: number;
  source: 'workspace' | 'default';
  /** Set when the workspace's setting was present but unusable (the default applies). */
  problem?: string;
}

export function budgetOf(settings: JsonObject, defaultUsd: number): Budget {
  if (!Object.hasOwn(settings, BUDGET_SETTING)) return { limitUsd: defaultUsd, source: 'default' };
  const raw = settings[BUDGET_SETTING];
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0)
    return { limitUsd: value, source: 'workspace' };
  return {
    limitUsd: defaultUsd,
    source: 'default',
    problem: `settings.${BUDGET_SETTING} must be a number of USD >= 0, got ${JSON.stringify(raw)}`,
  };
}

/**
 * USD spent by a workspace since the start of the current UTC month: every audit row of the
 * workspace, plus its share of fleet-wide continuous-intelligence runs (rows without a workspace,
 * whose output_data.per_workspace records the cost of each workspace they covered).
 */
export async function monthSpentUsd(db: Kysely<Database>, workspaceId: string): Promise<number> {
  const result = await sql<{ spent: string }>`
    WITH month AS (SELECT date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start)
    SELECT (
      coalesce((
        SELECT sum(t.cost_estimate_usd) FROM autonomous_tasks t, month
        WHERE t.workspace_id = ${workspaceId}::uuid AND t.executed_at >= month.start
      ), 0)
      + coalesce((
        SELECT sum((t.output_data -> 'per_workspace' -> ${workspaceId}::text ->> 'cost_usd')::numeric)
        FROM autonomous_tasks t, month
        WHERE t.workspace_id IS NULL
          AND t.task_type = 'continuous_intelligence_update'
          AND t.executed_at >= month.start
          AND jsonb_typeof(t.output_data -> 'per_workspace' -> ${workspaceId}::text -> 'cost_usd') = 'number'
      ), 0)
    )::text AS spent
  `.execute(db);
  return Number(result.rows[0]?.spent ?? 0);
}
