-- 155: social media posting.
--
-- social_accounts: a workspace's account on a platform (a Mastodon instance, X). The access
-- token is stored only as AES-256-GCM ciphertext made with MAIL_TOKEN_ENCRYPTION_KEY, as mail
-- accounts' tokens are. base_url is the instance (Mastodon) or API root (X); platform_user_id is
-- the account's id there (X: the user id whose recent posts are searched after an uncertain
-- attempt).
--
-- social_posts: what is to be published, when, to which account. calendar_item_id names the
-- content calendar entry the post came from (content_calendar_items, when that table exists;
-- no foreign key here so this file stands on its own). Publishing is idempotent:
--  * idempotency_key is sent as Mastodon's Idempotency-Key, the same on every attempt;
--  * platform_post_id is written in the same statement that marks the post published, before the
--    job is acknowledged, so a retry finds it and posts nothing;
--  * create_sent_at is set (durably) just before the first create request is sent: from then on
--    an attempt may have reached the platform, and every later one looks for the post there
--    before creating it.
-- claimed_until is a lease so two workers never publish the same post at once; a crashed
-- worker's lease expires and the post is picked up again.

CREATE TABLE IF NOT EXISTS social_accounts (
  id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id            uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  platform                text NOT NULL CHECK (platform IN ('mastodon', 'x')),
  base_url                text NOT NULL,
  handle                  text NOT NULL,
  platform_user_id        text,
  access_token_encrypted  text NOT NULL,
  is_active               boolean NOT NULL DEFAULT true,
  created_at              timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, platform, base_url, handle)
);

CREATE TABLE IF NOT EXISTS social_posts (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id       uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  account_id         uuid NOT NULL REFERENCES social_accounts(id) ON DELETE CASCADE,
  calendar_item_id   uuid,
  text               text NOT NULL,
  -- [{ "url": "https://...", "alt_text": "..." }]: images fetched when the post is published
  media              jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(media) = 'array'),
  scheduled_at       timestamptz NOT NULL,
  status             text NOT NULL DEFAULT 'scheduled'
                     CHECK (status IN ('draft', 'scheduled', 'publishing', 'published', 'rejected', 'cancelled')),
  idempotency_key    uuid NOT NULL DEFAULT gen_random_uuid(),
  publish_attempts   integer NOT NULL DEFAULT 0,
  create_sent_at     timestamptz,
  claimed_until      timestamptz,
  platform_post_id   text,
  platform_post_url  text,
  published_at       timestamptz,
  last_error         text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CHECK (status <> 'published' OR platform_post_id IS NOT NULL)
);

-- what is due: scheduled posts (and uncertain attempts) by time
CREATE INDEX IF NOT EXISTS idx_social_posts_due
  ON social_posts(workspace_id, scheduled_at) WHERE status IN ('scheduled', 'publishing');
CREATE INDEX IF NOT EXISTS idx_social_posts_calendar_item
  ON social_posts(calendar_item_id) WHERE calendar_item_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_social_posts_account ON social_posts(account_id);
