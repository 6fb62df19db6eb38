-- 150: a workspace's content calendar (posts, campaigns, email sends) and its CalDAV connections.
--
-- content_calendars: one row per external CalDAV collection a workspace syncs with. The password
-- (or app token) is stored only as AES-256-GCM ciphertext made with MAIL_TOKEN_ENCRYPTION_KEY, as
-- mail accounts' tokens are. sync_token is the collection's RFC 6578 token after the last sync,
-- ctag its getctag (the fallback change marker of servers without sync-collection).
--
-- content_calendar_items: the calendar's entries. Times are instants (timestamptz) plus the IANA
-- zone they were written in, so a recurring 09:00 Europe/Berlin post stays at 09:00 across DST;
-- rrule is the RFC 5545 RRULE value without the "RRULE:" prefix. An item linked to a calendar
-- carries the event's UID, the resource's href and the ETag last seen. updated_at moves on every
-- change of content (trigger below); synced_at is the updated_at the calendar last saw, so an item is
-- changed locally since its last sync when updated_at > synced_at. Deletions are soft
-- (deleted_at) so the next sync can propagate them; a tombstone whose calendar copy is gone has
-- external_href NULL.
CREATE TABLE IF NOT EXISTS content_calendars (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id        uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  -- the calendar collection's URL, e.g. https://dav.example.com/user/content/
  url                 text NOT NULL,
  username            text,
  password_encrypted  text,
  display_name        text,
  sync_token          text,
  ctag                text,
  last_synced_at      timestamptz,
  is_active           boolean NOT NULL DEFAULT true,
  created_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, url)
);

CREATE TABLE IF NOT EXISTS content_calendar_items (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id    uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  -- the external calendar this item is published to; NULL = kept in the workspace only
  calendar_id     uuid REFERENCES content_calendars(id) ON DELETE SET NULL,
  kind            text NOT NULL CHECK (kind IN ('post', 'campaign', 'email_send')),
  title           text NOT NULL,
  body            text,
  starts_at       timestamptz NOT NULL,
  ends_at         timestamptz,
  -- IANA zone of starts_at/ends_at as written, e.g. Europe/Berlin; NULL = UTC
  time_zone       text,
  rrule           text,
  status          text NOT NULL DEFAULT 'draft'
                  CHECK (status IN ('draft', 'scheduled', 'published', 'failed', 'cancelled')),
  external_uid    text,
  external_href   text,
  external_etag   text,
  -- milliseconds, as JavaScript's Date holds them: the sync compares and writes back the values
  -- it read, which a microsecond column would never equal
  synced_at       timestamptz(3),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz(3) NOT NULL DEFAULT now(),
  deleted_at      timestamptz,
  CHECK (ends_at IS NULL OR ends_at >= starts_at),
  CHECK (external_uid IS NULL OR calendar_id IS NOT NULL)
);

CREATE UNIQUE INDEX IF NOT EXISTS idx_content_calendar_items_uid
  ON content_calendar_items(calendar_id, external_uid) WHERE external_uid IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS idx_content_calendar_items_href
  ON content_calendar_items(calendar_id, external_href) WHERE external_href IS NOT NULL;
-- what is due: scheduled items of a kind by start (social posting, email sends)
CREATE INDEX IF NOT EXISTS idx_content_calendar_items_due
  ON content_calendar_items(workspace_id, kind, starts_at) WHERE deleted_at IS NULL AND status = 'scheduled';

-- updated_at moves whenever an item's content changes, whoever writes the row, unless the writer
-- sets it itself. The sync's bookkeeping (external_*, synced_at) does not move it: recording that
-- the calendar has seen a version must not make that version look like a new change. A sync
-- that writes the calendar's content sets updated_at and synced_at to the same value.
CREATE OR REPLACE FUNCTION content_calendar_items_touch()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
  IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at
     AND (NEW.calendar_id, NEW.kind, NEW.title, NEW.body, NEW.starts_at, NEW.ends_at, NEW.time_zone,
          NEW.rrule, NEW.status, NEW.deleted_at)
         IS DISTINCT FROM
         (OLD.calendar_id, OLD.kind, OLD.title, OLD.body, OLD.starts_at, OLD.ends_at, OLD.time_zone,
          OLD.rrule, OLD.status, OLD.deleted_at) THEN
    NEW.updated_at := clock_timestamp();
  END IF;
  RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS content_calendar_items_touch ON content_calendar_items;
CREATE TRIGGER content_calendar_items_touch
  BEFORE UPDATE ON content_calendar_items
  FOR EACH ROW EXECUTE FUNCTION content_calendar_items_touch();
