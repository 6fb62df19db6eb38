-- 095: indexes for reads that scanned the whole audit table at 5,000,000 rows
-- (bench/queries-at-scale.ts; plans and timings in docs/benchmarks.md).
--  * Per-workspace "newest first" reads walked a time index backwards and filtered on the
--    workspace, so a workspace with few or no recent rows read the entire index and heap
--    (1.3 s for the seed's recent-tasks query, 1.4-3 s for a task list page of a new workspace).
--    idx_autonomous_tasks_workspace_type_executed cannot give one workspace's rows in time
--    order across task types, hence:
--      - (workspace_id, executed_at DESC): recent tasks, get_autonomous_task_summary, the
--        dashboard's per-workspace figures, the analytics rollup, the budget;
--      - (workspace_id, created_at DESC, id DESC): the task list's keyset pages of one
--        workspace (every page read through a workspace-scoped API key).
--  * The dashboard's throughput chart windows on completed_at, which had no index: a
--    sequential scan of the table on every dashboard load (0.5-0.6 s; 0.46 s for one busy
--    workspace). Partial: open attempts have no completed_at.
--  * Looking a task up by job id without its queue (`fleet tasks show <job id>`,
--    GET /v1/tasks/:id) matches job_id = $1 OR job_id LIKE '$1@%'; the unique index starts with
--    queue_name, so an unknown or old job id read the whole table (0.6-1.7 s). text_pattern_ops
--    serves both the equality and the prefix match in any collation.
CREATE INDEX IF NOT EXISTS idx_autonomous_tasks_workspace_executed
  ON autonomous_tasks (workspace_id, executed_at DESC);
CREATE INDEX IF NOT EXISTS idx_autonomous_tasks_workspace_created_id
  ON autonomous_tasks (workspace_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS idx_autonomous_tasks_completed_at
  ON autonomous_tasks (completed_at)
  WHERE completed_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_autonomous_tasks_job_id
  ON autonomous_tasks (job_id text_pattern_ops)
  WHERE job_id IS NOT NULL;
