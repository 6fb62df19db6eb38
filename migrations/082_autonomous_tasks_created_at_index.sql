-- 082: the task list of the control plane and the CLI pages newest first by (created_at, id).
-- created_at never changes after insert (executed_at moves when a pending row starts), so a page
-- boundary never moves and keyset pages stay stable while rows are inserted and updated.
CREATE INDEX IF NOT EXISTS idx_autonomous_tasks_created_id
  ON autonomous_tasks (created_at DESC, id DESC);
