-- 101: idempotency keys expire (IDEMPOTENCY_KEY_TTL_HOURS, default 24 h): a key older than that is
-- claimed anew by the next request that presents it, and data_cleanup deletes expired keys.
--
-- data_cleanup runs in the scheduler, which logs in as a member of fleet_agent, and the agents have
-- no business reading the control plane's keys. So the delete is this one function, which runs
-- with its owner's rights and can do nothing but delete keys older than the cutoff it is given (of
-- one workspace, or all), at most p_limit per call; fleet_agent may call it and nothing more.
CREATE INDEX IF NOT EXISTS idx_idempotency_keys_workspace_created_at
  ON idempotency_keys (workspace_id, created_at) WHERE workspace_id IS NOT NULL;

CREATE OR REPLACE FUNCTION purge_expired_idempotency_keys(p_cutoff timestamptz, p_workspace uuid, p_limit integer)
RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
  WITH doomed AS (
    SELECT principal, key FROM public.idempotency_keys
    WHERE created_at < p_cutoff AND (p_workspace IS NULL OR workspace_id = p_workspace)
    LIMIT greatest(1, least(p_limit, 50000))
    FOR UPDATE SKIP LOCKED
  ), deleted AS (
    DELETE FROM public.idempotency_keys k USING doomed d
    WHERE k.principal = d.principal AND k.key = d.key
    RETURNING 1
  )
  SELECT count(*)::integer FROM deleted
$$;

COMMENT ON FUNCTION purge_expired_idempotency_keys(timestamptz, uuid, integer) IS
  'data_cleanup: deletes up to p_limit idempotency keys created before p_cutoff (of one workspace or all); returns how many.';

REVOKE ALL ON FUNCTION purge_expired_idempotency_keys(timestamptz, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION purge_expired_idempotency_keys(timestamptz, uuid, integer) TO fleet_agent, service_role;
