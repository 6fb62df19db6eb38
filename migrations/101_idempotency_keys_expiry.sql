-- 101: idempotency keys expire (IDEMPOTENCY_KEY_TTL_HOURS, default 24 h): a key older than that is
-- claimed anew by the next request that presents it, and data_cleanup deletes expired keys. The
-- cleanup runs in the scheduler, which logs in as a member of fleet_agent: 081 let only
-- service_role through the table's row-level security, so fleet_agent gets its policy here.
CREATE POLICY agents_all ON idempotency_keys FOR ALL TO fleet_agent USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO fleet_agent;
-- data_cleanup of one workspace deletes that workspace's keys.
CREATE INDEX IF NOT EXISTS idx_idempotency_keys_workspace_created_at
  ON idempotency_keys (workspace_id, created_at) WHERE workspace_id IS NOT NULL;
