-- 102: what the control plane needs for expiring idempotency keys (101) and unconfirmed enqueues
-- (100): it claims an expired key anew with INSERT ... ON CONFLICT DO UPDATE, which needs UPDATE,
-- and its producer records enqueues whose outcome Redis did not confirm.
--
-- The control plane's group role, fleet_control_plane, is created here if it does not exist yet,
-- exactly as 115 creates it (115 then finds it and grants the rest of its privileges).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fleet_control_plane') THEN
    BEGIN
      CREATE ROLE fleet_control_plane NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
END $$;

GRANT UPDATE ON idempotency_keys TO fleet_control_plane;

GRANT SELECT, INSERT ON unconfirmed_enqueues TO fleet_control_plane;
CREATE POLICY control_plane_record ON unconfirmed_enqueues FOR ALL TO fleet_control_plane
  USING (true) WITH CHECK (true);
