-- 052: the daily rollup's response-time query finds, for each inbound email, our first later
-- reply: an outbound email in the same thread, or one whose In-Reply-To names it. Without these
-- two indexes that lookup scans every later email of the workspace for each inbound email.
-- Partial, so they stay small and cost the email sync little.

CREATE INDEX IF NOT EXISTS idx_emails_outbound_thread_sent
  ON emails(thread_id, sent_at) WHERE direction = 'outbound' AND thread_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_emails_outbound_in_reply_to
  ON emails(workspace_id, in_reply_to) WHERE direction = 'outbound' AND in_reply_to IS NOT NULL;
