-- 081: idempotency keys of POST /v1/jobs. A repeated key returns the job the first request
-- created, for as long as the row exists (BullMQ's own job-id check forgets a job once it is
-- removed from Redis; this table does not). `request_hash` detects a key reused for a different
-- request, which is refused (409) rather than silently answered with an unrelated job.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  -- Who sent the key: 'admin' or an api_keys id. Keys of different callers never collide.
  principal     text NOT NULL,
  key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
  request_hash  text NOT NULL,
  queue_name    text NOT NULL,
  job_name      text NOT NULL,
  job_id        text NOT NULL,
  workspace_id  uuid,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (principal, key)
);

CREATE INDEX IF NOT EXISTS idx_idempotency_keys_created_at ON idempotency_keys (created_at);

ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON idempotency_keys FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO service_role;
CREATE POLICY service_role_all_access ON idempotency_keys FOR ALL TO service_role USING (true) WITH CHECK (true);
