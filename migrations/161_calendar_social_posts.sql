-- 161: content calendar posts published to social platforms.
--
-- content_calendar_item_accounts: the social accounts a calendar post (content_calendar_items,
-- kind 'post') goes to, one row per account. The item and the account are the row's
-- workspace's: both foreign keys include workspace_id, so a link across workspaces cannot be
-- written (no trigger to trust). Removing the item or the account removes the link.
--
-- social_posts.calendar_item_id now references the item, in the same workspace as the post
-- (composite key; deleting the item keeps the post and clears only calendar_item_id). The
-- social publisher materialises a due calendar post as one social_posts row per target account;
-- the unique index on (calendar_item_id, account_id) makes that an idempotent
-- INSERT ... ON CONFLICT DO NOTHING, and replaces the plain calendar_item_id index of 155.
--
-- An item deleted outright (not soft-deleted) takes its not-yet-sent posts with it: the trigger
-- below cancels them (no create request sent, no attempt holding them) before the foreign key
-- clears their link, so an orphaned post is never published. Cancelling or soft-deleting an item is handled by the publisher's next run.

-- Targets of the composite foreign keys.
ALTER TABLE content_calendar_items
  ADD CONSTRAINT content_calendar_items_workspace_id_id_key UNIQUE (workspace_id, id);
ALTER TABLE social_accounts
  ADD CONSTRAINT social_accounts_workspace_id_id_key UNIQUE (workspace_id, id);

CREATE TABLE IF NOT EXISTS content_calendar_item_accounts (
  item_id       uuid NOT NULL,
  account_id    uuid NOT NULL,
  workspace_id  uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (item_id, account_id),
  FOREIGN KEY (workspace_id, item_id) REFERENCES content_calendar_items(workspace_id, id) ON DELETE CASCADE,
  FOREIGN KEY (workspace_id, account_id) REFERENCES social_accounts(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_content_calendar_item_accounts_account
  ON content_calendar_item_accounts(account_id);
CREATE INDEX IF NOT EXISTS idx_content_calendar_item_accounts_workspace
  ON content_calendar_item_accounts(workspace_id);

-- Links written before this migration that name no item of the post's workspace are cleared, so
-- the foreign key can be added.
UPDATE social_posts p SET calendar_item_id = NULL
WHERE p.calendar_item_id IS NOT NULL
  AND NOT EXISTS (
    SELECT 1 FROM content_calendar_items i WHERE i.id = p.calendar_item_id AND i.workspace_id = p.workspace_id
  );

ALTER TABLE social_posts
  ADD CONSTRAINT social_posts_calendar_item_fkey
  FOREIGN KEY (workspace_id, calendar_item_id) REFERENCES content_calendar_items(workspace_id, id)
  ON DELETE SET NULL (calendar_item_id);

CREATE UNIQUE INDEX IF NOT EXISTS idx_social_posts_calendar_item_account
  ON social_posts(calendar_item_id, account_id) WHERE calendar_item_id IS NOT NULL;
DROP INDEX IF EXISTS idx_social_posts_calendar_item;

-- A BEFORE trigger runs before the foreign key's ON DELETE action, so the posts still name the item.
CREATE OR REPLACE FUNCTION content_calendar_items_cancel_unsent_posts()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
  UPDATE social_posts
  SET status = 'cancelled', last_error = 'its content calendar item was deleted', updated_at = now()
  WHERE calendar_item_id = OLD.id
    AND workspace_id = OLD.workspace_id
    AND status IN ('scheduled', 'publishing')
    AND create_sent_at IS NULL
    AND (claimed_until IS NULL OR claimed_until < now());
  RETURN OLD;
END
$$;

DROP TRIGGER IF EXISTS content_calendar_items_cancel_unsent_posts ON content_calendar_items;
CREATE TRIGGER content_calendar_items_cancel_unsent_posts
  BEFORE DELETE ON content_calendar_items
  FOR EACH ROW EXECUTE FUNCTION content_calendar_items_cancel_unsent_posts();

GRANT SELECT, INSERT, UPDATE, DELETE ON content_calendar_item_accounts TO service_role, fleet_agent;
