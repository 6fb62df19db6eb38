-- 130: the seed's GIN index on output_data comes back. Engineers query autonomous_tasks with SQL,
-- and output data is where an agent's results live ("which rollups wrote per_workspace for this
-- workspace?", "which batches listed this contact among their failures?"): without an index each
-- such query reads the whole table. jsonb_path_ops instead of the seed's default jsonb_ops: it
-- serves containment (output_data @> '{"key": value}') and jsonpath matches (@?, @@), which is
-- what these questions ask, with one hashed entry per path-and-value instead of one per key and
-- per value, so the index is smaller and each row write costs less. Key-existence operators
-- (?, ?|, ?&) are not served; write them as containment or jsonpath. Write cost per row:
-- docs/benchmarks.md (bench/audit-write-path.ts).
CREATE INDEX IF NOT EXISTS idx_autonomous_tasks_output_data
  ON autonomous_tasks USING GIN (output_data jsonb_path_ops);
