-- 045: job identity. Every row written by the fleet is one execution attempt of one BullMQ job:
-- (queue_name, job_id, attempt) is unique, so replayed writes upsert instead of duplicating.
-- Rows inserted by hand may leave all three NULL (NULLs never collide in a unique index).
ALTER TABLE autonomous_tasks
  ADD COLUMN queue_name text,
  ADD COLUMN job_id     text,
  ADD COLUMN attempt    integer;

ALTER TABLE autonomous_tasks
  ADD CONSTRAINT autonomous_tasks_job_identity_check CHECK (
    (queue_name IS NULL AND job_id IS NULL AND attempt IS NULL)
    OR (queue_name IS NOT NULL AND job_id IS NOT NULL AND attempt >= 1)
  );

CREATE UNIQUE INDEX uq_autonomous_tasks_job_attempt
  ON autonomous_tasks (queue_name, job_id, attempt);

-- The reconciler looks for rows still open per queue; this index stays as small as the number of
-- in-flight jobs.
CREATE INDEX idx_autonomous_tasks_open
  ON autonomous_tasks (queue_name, executed_at)
  WHERE status IN ('pending', 'running');
