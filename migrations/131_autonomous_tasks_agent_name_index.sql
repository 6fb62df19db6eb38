-- 131: drop idx_autonomous_tasks_agent_name (seed 043, "agent performance queries"). No query of
-- the fleet, the CLI, the dashboard or the API filters on agent_name, and the SQL an engineer
-- writes about an agent's performance bounds a time window too: with six agents, each holding a
-- sixth of the rows, the planner reads such a query through idx_autonomous_tasks_executed_at (or
-- a workspace index) and filters on agent_name; the partial index on agent_name alone is a
-- six-valued key, as useless for selection as status was (091). Every audit row carries an agent
-- name, so the index took an entry, and its WAL, on every write: bench/audit-write-path.ts,
-- docs/benchmarks.md.
DROP INDEX IF EXISTS idx_autonomous_tasks_agent_name;
