-- 096: the agents' role can do the agents' work on every table, including those added after 001
-- and any added later, so agents can log in as a least-privilege role that is a member of
-- fleet_agent instead of the owner. The migration runner's bookkeeping stays off limits.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO fleet_agent, service_role;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO fleet_agent, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO fleet_agent, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO fleet_agent, service_role;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['fleet_migration', 'fleet_migration_lock', 'fleet_migration_checksum'] LOOP
    IF to_regclass(t) IS NOT NULL THEN
      EXECUTE format('REVOKE ALL ON %I FROM service_role, fleet_agent, anon, authenticated', t);
    END IF;
  END LOOP;
END $$;
