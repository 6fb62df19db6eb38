-- 050: what lead scoring and contact enrichment need from the contacts tables.
--  * normalize_email(): the one definition of "the same address", used by duplicate detection.
--    Lower-cased and trimmed; a "+tag" in the local part is dropped (plus-addressing reaches the
--    same mailbox at Gmail, Outlook, Fastmail and most hosts); Gmail ignores dots in the local part
--    and treats googlemail.com as gmail.com.
--  * contacts.email_normalized: a stored generated column, so it can never disagree with email,
--    whoever writes the row, and duplicate detection is one indexed GROUP BY.
--  * contact_score_history(workspace_id, computed_at): reports read score changes of a period.

CREATE OR REPLACE FUNCTION normalize_email(address text)
RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURNS NULL ON NULL INPUT
AS $$
  SELECT CASE
    WHEN parts.domain IS NULL OR parts.local = '' THEN parts.addr
    WHEN parts.domain IN ('gmail.com', 'googlemail.com')
      THEN replace(parts.untagged, '.', '') || '@gmail.com'
    ELSE parts.untagged || '@' || parts.domain
  END
  FROM (
    SELECT a.addr, a.local, a.domain,
           -- a local part that starts with '+' has no base mailbox to fall back to: keep it whole
           CASE WHEN split_part(a.local, '+', 1) = '' THEN a.local ELSE split_part(a.local, '+', 1) END AS untagged
    FROM (
      SELECT lower(btrim(address)) AS addr,
             regexp_replace(lower(btrim(address)), '@[^@]*$', '') AS local,
             substring(lower(btrim(address)), '@([^@]+)$') AS domain
    ) a
  ) parts
$$;

COMMENT ON FUNCTION normalize_email(text) IS
  'Canonical form of an email address for duplicate detection: lower-case, no +tag, Gmail dots removed.';

ALTER TABLE contacts
  ADD COLUMN IF NOT EXISTS email_normalized text GENERATED ALWAYS AS (normalize_email(email)) STORED NOT NULL;

CREATE INDEX IF NOT EXISTS idx_contacts_workspace_email_normalized ON contacts(workspace_id, email_normalized);
CREATE INDEX IF NOT EXISTS idx_contact_score_history_workspace_computed
  ON contact_score_history(workspace_id, computed_at);

GRANT EXECUTE ON FUNCTION normalize_email(text) TO service_role, fleet_agent, authenticated;
