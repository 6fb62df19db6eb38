-- 090: integrity fixes found by the schema tests.
--  * 045 let (queue_name, job_id) through with a NULL attempt; NULLs never collide in the unique
--    index, so such rows could repeat. A job identity now needs all three columns.
--  * 047 skipped the duration function when completed_at was NULL, so a stale or hand-written
--    duration_ms could stay. It now runs whenever either value is present.
--  * duration_ms as integer overflows after 24.8 days: closing a row left running for a month
--    would fail. It is bigint now.
--  * 001 granted every table to the agents' roles, which then included the migration runner's
--    own bookkeeping. The runner's tables belong to the migrating role only.
--  * 001 let any signed-in user read every organization, workspace and membership. Members now
--    see their own; the agents' roles see all.

ALTER TABLE autonomous_tasks DROP CONSTRAINT autonomous_tasks_job_identity_check;
ALTER TABLE autonomous_tasks ADD CONSTRAINT autonomous_tasks_job_identity_check CHECK (
  (queue_name IS NULL AND job_id IS NULL AND attempt IS NULL)
  OR (queue_name IS NOT NULL AND job_id IS NOT NULL AND attempt IS NOT NULL AND attempt >= 1)
);

ALTER TABLE autonomous_tasks ALTER COLUMN duration_ms TYPE bigint;

CREATE OR REPLACE FUNCTION calculate_autonomous_task_duration()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
BEGIN
  IF NEW.executed_at IS NOT NULL AND NEW.completed_at IS NOT NULL THEN
    NEW.duration_ms = greatest(0, round(EXTRACT(EPOCH FROM (NEW.completed_at - NEW.executed_at)) * 1000))::bigint;
  ELSE
    NEW.duration_ms = NULL;
  END IF;
  RETURN NEW;
END;
$$;

DROP TRIGGER trigger_calculate_duration ON autonomous_tasks;
CREATE TRIGGER trigger_calculate_duration
  BEFORE INSERT OR UPDATE OF executed_at, completed_at, duration_ms ON autonomous_tasks
  FOR EACH ROW
  WHEN (NEW.completed_at IS NOT NULL OR NEW.duration_ms IS NOT NULL)
  EXECUTE FUNCTION calculate_autonomous_task_duration();

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['fleet_migration', 'fleet_migration_lock', 'fleet_migration_checksum'] LOOP
    IF to_regclass(t) IS NOT NULL THEN
      EXECUTE format('REVOKE ALL ON %I FROM service_role, fleet_agent, anon, authenticated', t);
    END IF;
  END LOOP;
END $$;

-- Platform tables: members read their own rows; the agents' roles read and write all.
ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE workspaces ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_organizations ENABLE ROW LEVEL SECURITY;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE tablename = 'user_organizations' AND policyname = 'member_read_own') THEN
    CREATE POLICY member_read_own ON user_organizations FOR SELECT TO authenticated
      USING (user_id = auth.uid());
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE tablename = 'organizations' AND policyname = 'member_read_own') THEN
    CREATE POLICY member_read_own ON organizations FOR SELECT TO authenticated
      USING (id IN (SELECT uo.org_id FROM user_organizations uo WHERE uo.user_id = auth.uid()));
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE tablename = 'workspaces' AND policyname = 'member_read_own') THEN
    CREATE POLICY member_read_own ON workspaces FOR SELECT TO authenticated
      USING (org_id IN (SELECT uo.org_id FROM user_organizations uo WHERE uo.user_id = auth.uid()));
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE tablename = 'user_organizations' AND policyname = 'agents_all') THEN
    CREATE POLICY agents_all ON user_organizations FOR ALL TO fleet_agent, service_role USING (true) WITH CHECK (true);
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE tablename = 'organizations' AND policyname = 'agents_all') THEN
    CREATE POLICY agents_all ON organizations FOR ALL TO fleet_agent, service_role USING (true) WITH CHECK (true);
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE tablename = 'workspaces' AND policyname = 'agents_all') THEN
    CREATE POLICY agents_all ON workspaces FOR ALL TO fleet_agent, service_role USING (true) WITH CHECK (true);
  END IF;
END $$;
