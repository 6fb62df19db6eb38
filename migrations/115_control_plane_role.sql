-- 115: least-privilege database roles for the processes that log in.
--  * fleet_control_plane (NOLOGIN): exactly what the control plane's queries need. It reads audit
--    rows and records the ones it owns (the pending rows of the jobs it enqueues, cancellations)
--    but never deletes one; it keeps the API keys and idempotency keys; it reads workspaces for
--    the dashboard. Nothing else: no contacts, no mail (refresh tokens), no migration records.
--  * fleet_agent no longer reaches the control plane's tables: 096 granted it every table, which
--    let any agent read API key hashes. Tables added later are still granted to fleet_agent by
--    096's default privileges; a later table only the control plane uses must be revoked the same
--    way.
--  * fleet_agent loses TRUNCATE, REFERENCES and TRIGGER, which 001's GRANT ALL gave it on the
--    baseline tables: TRUNCATE bypasses row security, TRIGGER is DDL; agents need neither.
--  * PUBLIC loses CREATE on schema public (already the default from PostgreSQL 15 on), so no login
--    role can create objects there on an older server either.
-- The login roles themselves, with passwords, are made by `fleet migrate` from its environment
-- (AGENT_DATABASE_*, CONTROL_PLANE_DATABASE_*), since a migration file cannot hold a secret.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fleet_control_plane') THEN
    BEGIN
      CREATE ROLE fleet_control_plane NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
END $$;

COMMENT ON ROLE fleet_control_plane IS
  'Role the control plane works with; grant it to the login role the control plane uses.';

REVOKE CREATE ON SCHEMA public FROM PUBLIC;

REVOKE ALL ON api_keys, idempotency_keys FROM fleet_agent;
REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM fleet_agent;

-- The audit trail: read, pending rows and cancellations (upserts), no DELETE.
GRANT SELECT, INSERT, UPDATE ON autonomous_tasks TO fleet_control_plane;
CREATE POLICY control_plane_read ON autonomous_tasks FOR SELECT TO fleet_control_plane USING (true);
CREATE POLICY control_plane_insert ON autonomous_tasks FOR INSERT TO fleet_control_plane WITH CHECK (true);
CREATE POLICY control_plane_update ON autonomous_tasks FOR UPDATE TO fleet_control_plane
  USING (true) WITH CHECK (true);
GRANT EXECUTE ON FUNCTION get_autonomous_task_summary(uuid, text, integer) TO fleet_control_plane;

-- The policy every role shares on autonomous_tasks (workspace_isolation_select, for signed-in
-- members) is evaluated for this role's reads too, so the tables and function it names must be
-- readable; RLS on them still hides every membership row from this role.
GRANT USAGE ON SCHEMA auth TO fleet_control_plane;
GRANT EXECUTE ON FUNCTION auth.uid() TO fleet_control_plane;
GRANT SELECT ON workspaces, user_organizations TO fleet_control_plane;
CREATE POLICY control_plane_read ON workspaces FOR SELECT TO fleet_control_plane USING (true);

-- API keys (created, looked up by hash, marked used, revoked) and idempotency keys.
GRANT SELECT, INSERT, UPDATE ON api_keys TO fleet_control_plane;
CREATE POLICY control_plane_all ON api_keys FOR ALL TO fleet_control_plane USING (true) WITH CHECK (true);
GRANT SELECT, INSERT ON idempotency_keys TO fleet_control_plane;
CREATE POLICY control_plane_all ON idempotency_keys FOR ALL TO fleet_control_plane USING (true) WITH CHECK (true);
