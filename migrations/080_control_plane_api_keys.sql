-- 080: API keys of the control plane. Only a SHA-256 digest of each key is stored: keys are 32
-- random bytes, so a fast hash is enough (nothing to brute-force) and lookups stay one index probe.
-- A key is scoped to a list of workspaces; the single admin key comes from the environment and is
-- never stored here.
CREATE TABLE IF NOT EXISTS api_keys (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  -- The first characters of the key as shown to people ("fleet_ab12cd34"), to tell keys apart.
  key_prefix     text NOT NULL,
  key_hash       text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
  workspace_ids  uuid[] NOT NULL CHECK (cardinality(workspace_ids) >= 1),
  created_at     timestamptz NOT NULL DEFAULT now(),
  last_used_at   timestamptz,
  revoked_at     timestamptz
);

COMMENT ON TABLE api_keys IS 'Control-plane API keys (hashed), each limited to some workspaces.';

-- Only the service itself reads or writes keys; no API role of a Supabase project sees them.
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON api_keys FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON api_keys TO service_role;
CREATE POLICY service_role_all_access ON api_keys FOR ALL TO service_role USING (true) WITH CHECK (true);
