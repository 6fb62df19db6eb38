-- 065: bookkeeping for continuous intelligence on emails.
--  * A lease (intelligence_claimed_until) so two workers never pay an LLM twice for the same
--    email; a crashed worker's lease simply expires and the email is picked up again.
--  * A failure counter and the last reason, so a message the model keeps failing on is retried
--    a bounded number of times instead of on every run forever.
--  * Token usage per insight, so cost can be audited email by email.

ALTER TABLE emails
  ADD COLUMN IF NOT EXISTS intelligence_claimed_until timestamptz,
  ADD COLUMN IF NOT EXISTS intelligence_attempts integer NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS intelligence_error text;

ALTER TABLE email_insights
  ADD COLUMN IF NOT EXISTS input_tokens integer NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS output_tokens integer NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS cache_read_tokens integer NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS cache_write_tokens integer NOT NULL DEFAULT 0;

