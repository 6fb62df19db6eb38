-- 160: what campaign optimization reads.
--  * email_campaigns: a workspace's mailing (one send, or an A/B test of subject lines or
--    bodies). An outbound email names its campaign and the variant it carried ('A', 'B', ...);
--    opens, clicks and replies of each variant are compared by campaign_optimization.
--  * emails(workspace_id, campaign_id, variant): the per-variant counts are one indexed GROUP BY.
--  * emails(workspace_id, direction, sent_at): send-time and fatigue counts read the outbound
--    mail of a window.

CREATE TABLE IF NOT EXISTS email_campaigns (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id  uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name          text NOT NULL,
  -- what the variants differ in: subject line, body, send time, ...
  tested        text NOT NULL DEFAULT 'subject' CHECK (tested IN ('subject', 'body', 'sender', 'other')),
  started_at    timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, name)
);

ALTER TABLE emails
  ADD COLUMN IF NOT EXISTS campaign_id uuid REFERENCES email_campaigns(id) ON DELETE SET NULL,
  ADD COLUMN IF NOT EXISTS variant text CHECK (variant IS NULL OR length(variant) BETWEEN 1 AND 64);

CREATE INDEX IF NOT EXISTS idx_emails_campaign_variant
  ON emails(workspace_id, campaign_id, variant) WHERE campaign_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_emails_workspace_outbound_sent
  ON emails(workspace_id, sent_at) WHERE direction = 'outbound';

GRANT SELECT, INSERT, UPDATE, DELETE ON email_campaigns TO service_role, fleet_agent;
