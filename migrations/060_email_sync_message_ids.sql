-- Email sync: the RFC 5322 Message-ID of each stored email, so a reply (whose In-Reply-To names
-- it) can be linked to the message it answers and analytics can compute reply and response times.
ALTER TABLE emails ADD COLUMN IF NOT EXISTS rfc_message_id text;

-- Linking replies looks both ways: "what answers this message" and "what does this reply answer".
CREATE INDEX IF NOT EXISTS idx_emails_rfc_message_id ON emails(workspace_id, rfc_message_id)
  WHERE rfc_message_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_emails_in_reply_to ON emails(workspace_id, in_reply_to)
  WHERE in_reply_to IS NOT NULL;

-- Thread counters are recomputed from the thread's emails after each batch.
CREATE INDEX IF NOT EXISTS idx_emails_thread ON emails(thread_id) WHERE thread_id IS NOT NULL;
