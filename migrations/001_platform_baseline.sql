-- Platform baseline: the Supabase-compatible auth pieces and the minimal platform tables the
-- fleet reads and writes. Everything is created only if missing, so the same file applies to an
-- empty Postgres and to a real Supabase project that already has `auth`, its roles and tables.

CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- Roles. Roles are cluster-wide, so two databases migrating at once may race on them: the
-- duplicate errors are swallowed on purpose.
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role', 'fleet_agent'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', r);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
      END;
    END IF;
  END LOOP;
END $$;

COMMENT ON ROLE fleet_agent IS
  'Role the agent workers write autonomous_tasks with; grant it to the login role the agents use.';

CREATE SCHEMA IF NOT EXISTS auth;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role, fleet_agent;

-- auth.uid() / auth.role() as Supabase defines them: read from the JWT claims PostgREST sets.
DO $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'auth' AND p.proname = 'uid'
  ) THEN
    EXECUTE $fn$
      CREATE FUNCTION auth.uid() RETURNS uuid
      LANGUAGE sql STABLE
      SET search_path = pg_catalog
      AS $body$
        SELECT nullif(
          coalesce(
            current_setting('request.jwt.claim.sub', true),
            (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
          ), ''
        )::uuid
      $body$
    $fn$;
  END IF;
  IF NOT EXISTS (
    SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'auth' AND p.proname = 'role'
  ) THEN
    EXECUTE $fn$
      CREATE FUNCTION auth.role() RETURNS text
      LANGUAGE sql STABLE
      SET search_path = pg_catalog
      AS $body$
        SELECT nullif(
          coalesce(
            current_setting('request.jwt.claim.role', true),
            (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
          ), ''
        )::text
      $body$
    $fn$;
  END IF;
END $$;

GRANT EXECUTE ON FUNCTION auth.uid() TO anon, authenticated, service_role, fleet_agent;
GRANT EXECUTE ON FUNCTION auth.role() TO anon, authenticated, service_role, fleet_agent;

-- Organizations and workspaces -----------------------------------------------------------------

CREATE TABLE IF NOT EXISTS organizations (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS workspaces (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id      uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name        text NOT NULL,
  -- IANA zone; analytics days and schedules follow it.
  timezone    text NOT NULL DEFAULT 'UTC',
  is_active   boolean NOT NULL DEFAULT true,
  -- Per-workspace overrides (lead-score weights, monthly AI budget, ...).
  settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_workspaces_org_id ON workspaces(org_id);

CREATE TABLE IF NOT EXISTS user_organizations (
  user_id     uuid NOT NULL,
  org_id      uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  role        text NOT NULL DEFAULT 'member',
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, org_id)
);
CREATE INDEX IF NOT EXISTS idx_user_organizations_org_id ON user_organizations(org_id);

-- Contacts --------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS contacts (
  id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id         uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  email                text NOT NULL,
  display_name         text,
  first_name           text,
  last_name            text,
  company              text,
  company_domain       text,
  job_title            text,
  phone                text,
  phone_e164           text,
  -- where the contact came from: manual, import, email_sync, api
  source               text NOT NULL DEFAULT 'manual',
  -- fields a person entered by hand; enrichment never overwrites these
  manual_fields        text[] NOT NULL DEFAULT '{}',
  is_free_mail         boolean,
  is_role_address      boolean,
  duplicate_of         uuid REFERENCES contacts(id) ON DELETE SET NULL,
  enrichment           jsonb NOT NULL DEFAULT '{}'::jsonb,
  enriched_at          timestamptz,
  lead_score           integer CHECK (lead_score BETWEEN 0 AND 100),
  lead_tier            text CHECK (lead_tier IN ('hot', 'warm', 'cold')),
  score_factors        jsonb,
  scored_at            timestamptz,
  last_interaction_at  timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS uq_contacts_workspace_email ON contacts(workspace_id, lower(email));

CREATE TABLE IF NOT EXISTS contact_score_history (
  id              bigserial PRIMARY KEY,
  workspace_id    uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  contact_id      uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  score           integer NOT NULL,
  tier            text NOT NULL,
  previous_score  integer,
  previous_tier   text,
  factors         jsonb NOT NULL,
  computed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_contact_score_history_contact ON contact_score_history(contact_id, computed_at DESC);

-- Mail ------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS mail_accounts (
  id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id             uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  provider                 text NOT NULL DEFAULT 'gmail',
  email_address            text NOT NULL,
  -- AES-256-GCM ciphertext of the OAuth refresh token; never stored in plain text
  refresh_token_encrypted  text,
  history_id               text,
  last_synced_at           timestamptz,
  is_active                boolean NOT NULL DEFAULT true,
  created_at               timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, provider, email_address)
);

CREATE TABLE IF NOT EXISTS email_threads (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id        uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  account_id          uuid REFERENCES mail_accounts(id) ON DELETE CASCADE,
  provider_thread_id  text NOT NULL,
  subject             text,
  message_count       integer NOT NULL DEFAULT 0,
  last_message_at     timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, provider_thread_id)
);

CREATE TABLE IF NOT EXISTS emails (
  id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id         uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  account_id           uuid REFERENCES mail_accounts(id) ON DELETE SET NULL,
  thread_id            uuid REFERENCES email_threads(id) ON DELETE SET NULL,
  contact_id           uuid REFERENCES contacts(id) ON DELETE SET NULL,
  provider_message_id  text NOT NULL,
  -- inbound: the contact wrote to us; outbound: we wrote to the contact
  direction            text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
  from_address         text NOT NULL,
  from_name            text,
  to_addresses         text[] NOT NULL DEFAULT '{}',
  cc_addresses         text[] NOT NULL DEFAULT '{}',
  subject              text,
  snippet              text,
  body_text            text,
  labels               text[] NOT NULL DEFAULT '{}',
  sent_at              timestamptz NOT NULL,
  opened_at            timestamptz,
  clicked_at           timestamptz,
  replied_at           timestamptz,
  in_reply_to          text,
  -- set by continuous intelligence in the same transaction that stores the insight
  processed_at         timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, provider_message_id)
);
CREATE INDEX IF NOT EXISTS idx_emails_workspace_sent ON emails(workspace_id, sent_at);
CREATE INDEX IF NOT EXISTS idx_emails_contact ON emails(contact_id, sent_at DESC);
CREATE INDEX IF NOT EXISTS idx_emails_unprocessed ON emails(workspace_id, sent_at) WHERE processed_at IS NULL;

CREATE TABLE IF NOT EXISTS email_insights (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id     uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  email_id         uuid NOT NULL UNIQUE REFERENCES emails(id) ON DELETE CASCADE,
  contact_id       uuid REFERENCES contacts(id) ON DELETE SET NULL,
  intent           text NOT NULL,
  intents          text[] NOT NULL DEFAULT '{}',
  sentiment        text NOT NULL CHECK (sentiment IN ('positive', 'neutral', 'negative')),
  sentiment_score  numeric(4, 3),
  urgency          text NOT NULL CHECK (urgency IN ('low', 'medium', 'high')),
  action_items     jsonb NOT NULL DEFAULT '[]'::jsonb,
  mentioned_dates  jsonb NOT NULL DEFAULT '[]'::jsonb,
  people           jsonb NOT NULL DEFAULT '[]'::jsonb,
  companies        jsonb NOT NULL DEFAULT '[]'::jsonb,
  extractor        text NOT NULL,
  model            text,
  cost_usd         numeric(12, 6) NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_email_insights_contact ON email_insights(contact_id);
CREATE INDEX IF NOT EXISTS idx_email_insights_workspace_created ON email_insights(workspace_id, created_at);

-- Media -----------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS media_files (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id      uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  -- a local path (shared volume) or an http(s) URL
  source            text NOT NULL,
  file_name         text,
  mime_type         text,
  size_bytes        bigint,
  duration_seconds  numeric(12, 3),
  status            text NOT NULL DEFAULT 'uploaded'
                    CHECK (status IN ('uploaded', 'processing', 'transcribed', 'failed')),
  error_message     text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_media_files_workspace ON media_files(workspace_id);

CREATE TABLE IF NOT EXISTS media_transcripts (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id      uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  media_file_id     uuid NOT NULL UNIQUE REFERENCES media_files(id) ON DELETE CASCADE,
  text              text NOT NULL,
  language          text,
  segments          jsonb NOT NULL DEFAULT '[]'::jsonb,
  duration_seconds  numeric(12, 3),
  model             text,
  created_at        timestamptz NOT NULL DEFAULT now()
);

-- Analytics -------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS daily_analytics (
  workspace_id  uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  day           date NOT NULL,
  metrics       jsonb NOT NULL,
  computed_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, day)
);

CREATE TABLE IF NOT EXISTS analytics_reports (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id  uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  kind          text NOT NULL CHECK (kind IN ('weekly', 'monthly')),
  period_start  date NOT NULL,
  period_end    date NOT NULL,
  data          jsonb NOT NULL,
  markdown      text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, kind, period_start)
);

-- Reading the platform tables is needed by the RLS policies of the tables that hang off them.
GRANT SELECT ON organizations, workspaces, user_organizations TO authenticated, service_role, fleet_agent;
GRANT ALL ON ALL TABLES IN SCHEMA public TO service_role, fleet_agent;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO service_role, fleet_agent;
