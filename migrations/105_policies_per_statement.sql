-- 105: row level security that costs one auth.uid() call per statement, and one permissive
-- policy per role and command.
--  * The membership policies called auth.uid() in their row filter, so Postgres evaluated it for
--    every row it looked at. Written as a scalar subquery, `(SELECT auth.uid())`, it becomes an
--    InitPlan: evaluated once per statement, the same answer.
--  * workspace_isolation_select applied to every role (TO public), so fleet_agent and
--    service_role had two permissive SELECT policies each on autonomous_tasks (their own ALL
--    policy and this one), and Postgres evaluated both for every row. Only `authenticated`
--    callers need the membership filter; anon has no privileges on the table at all (046).
-- Policies keep their names; ALTER POLICY changes them in place, so grants and comments stay.

ALTER POLICY workspace_isolation_select ON autonomous_tasks
  TO authenticated
  USING (
    workspace_id IN (
      SELECT w.id
      FROM workspaces w
      JOIN user_organizations uo ON uo.org_id = w.org_id
      WHERE uo.user_id = (SELECT auth.uid())
    )
  );

-- The platform tables' policies were created by 090 only where missing (a Supabase project may
-- bring its own), so they are changed only where they are ours.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public' AND tablename = 'user_organizations' AND policyname = 'member_read_own') THEN
    ALTER POLICY member_read_own ON user_organizations
      USING (user_id = (SELECT auth.uid()));
  END IF;
  IF EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public' AND tablename = 'organizations' AND policyname = 'member_read_own') THEN
    ALTER POLICY member_read_own ON organizations
      USING (id IN (SELECT uo.org_id FROM user_organizations uo WHERE uo.user_id = (SELECT auth.uid())));
  END IF;
  IF EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public' AND tablename = 'workspaces' AND policyname = 'member_read_own') THEN
    ALTER POLICY member_read_own ON workspaces
      USING (org_id IN (SELECT uo.org_id FROM user_organizations uo WHERE uo.user_id = (SELECT auth.uid())));
  END IF;
END $$;
