-- 120: an insight says whose words it reads. `kind` is 'inbound' for what a contact wrote to us
-- and 'outbound' for our own mail to them. Lead scoring reads a contact's sentiment and intent
-- from inbound insights only: our "Great news, the contract is attached!" says nothing about how
-- the contact feels.
--
-- The value is the email's direction, always: a trigger copies it on insert (and if email_id
-- ever changes), so no writer can store a kind that disagrees with the email. Writers never
-- supply it; the default only makes that explicit (the trigger overwrites it).

ALTER TABLE email_insights ADD COLUMN IF NOT EXISTS kind text DEFAULT 'inbound';

UPDATE email_insights ei
   SET kind = e.direction
  FROM emails e
 WHERE e.id = ei.email_id AND ei.kind IS DISTINCT FROM e.direction;

ALTER TABLE email_insights
  ALTER COLUMN kind SET NOT NULL,
  ADD CONSTRAINT email_insights_kind_check CHECK (kind IN ('inbound', 'outbound'));

CREATE OR REPLACE FUNCTION email_insights_set_kind() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  SELECT e.direction INTO NEW.kind FROM emails e WHERE e.id = NEW.email_id;
  RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS email_insights_set_kind ON email_insights;
CREATE TRIGGER email_insights_set_kind
  BEFORE INSERT OR UPDATE OF email_id, kind ON email_insights
  FOR EACH ROW EXECUTE FUNCTION email_insights_set_kind();

