-- 091: only the indexes the queries use. Every row write updates every index, and the audit
-- table takes one or two writes per job, so an index no query reads is pure cost.
--  * idx_autonomous_tasks_workspace_id: a prefix of idx_autonomous_tasks_workspace_type_executed,
--    which serves every query that filters by workspace.
--  * idx_autonomous_tasks_task_type: a prefix of idx_autonomous_tasks_type_status_executed.
--  * idx_autonomous_tasks_status: six values, so useless alone; the open statuses (pending,
--    running) the reconciler and the health check look for have idx_autonomous_tasks_open.
--  * idx_autonomous_tasks_output_data: a GIN index over every output document, the most
--    expensive index to maintain, and no query of the fleet, the CLI or the dashboard searches
--    output_data. Recreate it (ideally with jsonb_path_ops) if such a query appears.
-- bench/audit-write-path.ts measures the write path with and without these indexes.
DROP INDEX IF EXISTS idx_autonomous_tasks_workspace_id;
DROP INDEX IF EXISTS idx_autonomous_tasks_task_type;
DROP INDEX IF EXISTS idx_autonomous_tasks_status;
DROP INDEX IF EXISTS idx_autonomous_tasks_output_data;
