-- 046: close the security holes of 043.
--  * `system_insert` let any role insert any row (WITH CHECK true). Writes now belong to the
--    agents' role (fleet_agent) and service_role only.
--  * get_autonomous_task_summary ran with its owner's rights and no fixed search_path, so any
--    caller could read any workspace's figures. It now runs with the caller's rights (RLS applies)
--    and a fixed search_path.
--  * The trigger functions get a fixed search_path too.

DROP POLICY IF EXISTS system_insert ON autonomous_tasks;

CREATE POLICY agent_write ON autonomous_tasks
  FOR ALL
  TO fleet_agent
  USING (true)
  WITH CHECK (true);

REVOKE ALL ON autonomous_tasks FROM anon;
REVOKE INSERT, UPDATE, DELETE ON autonomous_tasks FROM authenticated;
GRANT SELECT ON autonomous_tasks TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON autonomous_tasks TO fleet_agent, service_role;

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
STABLE
SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
BEGIN
  IF p_workspace_id IS NULL THEN
    RAISE EXCEPTION 'get_autonomous_task_summary: p_workspace_id is required (a workspace uuid)'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_hours_back IS NULL OR p_hours_back < 1 OR p_hours_back > 24 * 366 THEN
    RAISE EXCEPTION 'get_autonomous_task_summary: p_hours_back must be between 1 and 8784 hours, got %', p_hours_back
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

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

REVOKE ALL ON FUNCTION get_autonomous_task_summary(uuid, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION get_autonomous_task_summary(uuid, text, integer)
  TO authenticated, service_role, fleet_agent;

ALTER FUNCTION update_autonomous_tasks_updated_at() SET search_path = public, pg_temp;
ALTER FUNCTION calculate_autonomous_task_duration() SET search_path = public, pg_temp;
