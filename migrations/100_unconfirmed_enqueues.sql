-- 100: enqueues whose outcome the producer could not learn. When adding a job to Redis times out
-- or the connection drops after the request was sent, the job may or may not be in its queue.
-- The producer then leaves the job's `pending` audit row as it is and records the job here; the
-- reconciler of the job's queue resolves it against Redis: a job found there is confirmed (the
-- entry is deleted, the row lives on as usual), a job still absent after a grace period has its
-- row closed as `failed` saying so. Only a definite refusal by Redis fails a row at once.
CREATE TABLE IF NOT EXISTS unconfirmed_enqueues (
  queue_name    text NOT NULL,
  -- autonomous_tasks.job_id of the pending row (attempt 1).
  job_id        text NOT NULL,
  workspace_id  uuid,
  -- What the producer saw, e.g. "Command timed out".
  reason        text NOT NULL CHECK (length(reason) <= 1000),
  recorded_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (queue_name, job_id)
);

COMMENT ON TABLE unconfirmed_enqueues IS
  'Jobs whose add to Redis had an unknown outcome; the reconciler confirms or fails their pending rows.';

-- Written by producers (control plane, scheduler, services), read and deleted by the agents.
ALTER TABLE unconfirmed_enqueues ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON unconfirmed_enqueues FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON unconfirmed_enqueues TO fleet_agent, service_role;
CREATE POLICY agents_all ON unconfirmed_enqueues FOR ALL TO fleet_agent, service_role USING (true) WITH CHECK (true);
