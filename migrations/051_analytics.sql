-- 051: what the analytics rollups and reports need.
--  * contacts(workspace_id, created_at): "new contacts" and "contacts at end of day" per day.
--  * analytics_reports.updated_at: a report of a period is regenerated in place (upsert on
--    workspace, kind, period_start); created_at keeps the first generation, updated_at the last.

CREATE INDEX IF NOT EXISTS idx_contacts_workspace_created ON contacts(workspace_id, created_at);

ALTER TABLE analytics_reports
  ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now();
