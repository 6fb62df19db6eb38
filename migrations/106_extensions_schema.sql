-- 106: extensions live in their own schema, `extensions`, as on Supabase, not in `public`.
-- An extension in public puts its functions (pgcrypto has dozens) in every caller's search
-- path and in the API schema PostgREST exposes. The schema is created if missing; on Supabase it
-- exists and pgcrypto is already in it, and nothing changes.
-- Call pgcrypto's functions schema-qualified: extensions.gen_random_bytes(16),
-- extensions.digest(data, 'sha256'). (gen_random_uuid() is built into Postgres 13+, not pgcrypto.)

CREATE SCHEMA IF NOT EXISTS extensions;
GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role, fleet_agent;

DO $$
BEGIN
  IF EXISTS (
    SELECT 1 FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pgcrypto' AND n.nspname = 'public'
  ) THEN
    ALTER EXTENSION pgcrypto SET SCHEMA extensions;
  END IF;
END $$;

CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;
