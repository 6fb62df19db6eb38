-- 043: autonomous_tasks, the audit trail of every autonomous agent execution.
-- Kept as originally deployed; later migrations (044+) change it. Do not edit once applied.

CREATE TABLE IF NOT EXISTS autonomous_tasks (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- NULL for fleet-level work that belongs to no workspace (health checks, cleanup)
  workspace_id       uuid REFERENCES workspaces(id) ON DELETE CASCADE,
  task_type          text NOT NULL,
  status             text NOT NULL DEFAULT 'pending',
  input_data         jsonb NOT NULL DEFAULT '{}'::jsonb,
  output_data        jsonb NOT NULL DEFAULT '{}'::jsonb,
  error_message      text,
  executed_at        timestamptz NOT NULL DEFAULT now(),
  completed_at       timestamptz,
  duration_ms        integer,
  -- cron, api, system, manual, retry
  triggered_by       text NOT NULL DEFAULT 'system',
  agent_name         text,
  cost_estimate_usd  numeric(12, 6) NOT NULL DEFAULT 0,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),

  CONSTRAINT autonomous_tasks_task_type_check CHECK (task_type IN (
    'continuous_intelligence_update',
    'daily_analytics_rollup',
    'weekly_report_generation',
    'monthly_summary',
    'email_sync',
    'contact_enrichment',
    'lead_scoring_batch',
    'campaign_optimization',
    'content_calendar_sync',
    'social_media_posting',
    'data_cleanup',
    'system_health_check'
  )),
  CONSTRAINT autonomous_tasks_status_check CHECK (status IN (
    'pending', 'running', 'completed', 'failed', 'partial_failure', 'cancelled'
  ))
);

COMMENT ON TABLE autonomous_tasks IS 'One row per execution attempt of an autonomous agent task.';

-- Indexes ---------------------------------------------------------------------------------------
CREATE INDEX IF NOT EXISTS idx_autonomous_tasks_workspace_id
  ON autonomous_tasks (workspace_id);
CREATE INDEX IF NOT EXISTS idx_autonomous_tasks_task_type
  ON autonomous_tasks (task_type);
CREATE INDEX IF NOT EXISTS idx_autonomous_tasks_status
  ON autonomous_tasks (status);
CREATE INDEX IF NOT EXISTS idx_autonomous_tasks_executed_at
  ON autonomous_tasks (executed_at DESC);
CREATE INDEX IF NOT EXISTS idx_autonomous_tasks_type_status_executed
  ON autonomous_tasks (task_type, status, executed_at DESC);
CREATE INDEX IF NOT EXISTS idx_autonomous_tasks_workspace_type_executed
  ON autonomous_tasks (workspace_id, task_type, executed_at DESC);
CREATE INDEX IF NOT EXISTS idx_autonomous_tasks_agent_name
  ON autonomous_tasks (agent_name) WHERE agent_name IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_autonomous_tasks_output_data
  ON autonomous_tasks USING GIN (output_data);

-- Row level security ----------------------------------------------------------------------------
ALTER TABLE autonomous_tasks ENABLE ROW LEVEL SECURITY;

CREATE POLICY workspace_isolation_select ON autonomous_tasks
  FOR SELECT
  USING (
    workspace_id IN (
      SELECT w.id
      FROM workspaces w
      JOIN user_organizations uo ON uo.org_id = w.org_id
      WHERE uo.user_id = auth.uid()
    )
  );

CREATE POLICY service_role_all_access ON autonomous_tasks
  FOR ALL
  TO service_role
  USING (true)
  WITH CHECK (true);

CREATE POLICY system_insert ON autonomous_tasks
  FOR INSERT
  WITH CHECK (true);

-- The table privileges a Supabase project hands every API role by default.
GRANT SELECT, INSERT, UPDATE, DELETE ON autonomous_tasks TO anon, authenticated, service_role;

-- Summary helper --------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION get_autonomous_task_summary(
  p_workspace_id uuid,
  p_task_type    text DEFAULT NULL,
  p_hours_back   integer DEFAULT 24
)
RETURNS TABLE (
  task_type              text,
  total_executions       bigint,
  successful_executions  bigint,
  failed_executions      bigint,
  avg_duration_ms        numeric,
  total_cost_usd         numeric,
  last_execution         timestamptz
)
LANGUAGE plpgsql
SECURITY DEFINER
AS $$
BEGIN
  RETURN QUERY
  SELECT
    t.task_type,
    count(*)::bigint,
    count(*) FILTER (WHERE t.status = 'completed')::bigint,
    count(*) FILTER (WHERE t.status IN ('failed', 'partial_failure'))::bigint,
    round(avg(t.duration_ms)::numeric, 2),
    coalesce(sum(t.cost_estimate_usd), 0)::numeric,
    max(t.executed_at)
  FROM autonomous_tasks t
  WHERE t.workspace_id = p_workspace_id
    AND (p_task_type IS NULL OR t.task_type = p_task_type)
    AND t.executed_at >= now() - make_interval(hours => p_hours_back)
  GROUP BY t.task_type
  ORDER BY t.task_type;
END;
$$;

-- Triggers --------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION update_autonomous_tasks_updated_at()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.updated_at = now();
  RETURN NEW;
END;
$$;

CREATE TRIGGER trigger_autonomous_tasks_updated_at
  BEFORE UPDATE ON autonomous_tasks
  FOR EACH ROW
  EXECUTE FUNCTION update_autonomous_tasks_updated_at();

CREATE OR REPLACE FUNCTION calculate_autonomous_task_duration()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF NEW.executed_at IS NOT NULL AND NEW.completed_at IS NOT NULL THEN
    NEW.duration_ms = (EXTRACT(EPOCH FROM (NEW.completed_at - NEW.executed_at)) * 1000)::integer;
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER trigger_calculate_duration
  BEFORE INSERT OR UPDATE ON autonomous_tasks
  FOR EACH ROW
  EXECUTE FUNCTION calculate_autonomous_task_duration();
