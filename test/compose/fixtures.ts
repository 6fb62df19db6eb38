/**
 * The rows a full round trip needs, written with psql inside the postgres container (the
 * database is on the internal network only): a workspace, contacts, emails, a mail account whose
 * refresh token is encrypted with the fleet's key, a CalDAV connection and two media files served
 * by the stubs.
 */
import { encryptToken, parseEncryptionKey } from '../../agents/email-integration/src/token-crypto.ts';
import type { ComposeProject } from './compose.ts';

/** Runs SQL as the owner inside the postgres container; returns psql's unaligned output. */
export async function psql(compose: ComposeProject, sql: string): Promise<string> {
  const { stdout } = await compose.run(
    ['exec', '-T', 'postgres', 'sh', '-c', 'psql -X -q -v ON_ERROR_STOP=1 -At -U "$POSTGRES_USER" -d "$POSTGRES_DB"'],
    { input: sql, timeoutMs: 60_000 },
  );
  return stdout.trim();
}

/** A JSON value from a query that returns one json/jsonb column of one row. */
export async function psqlJson<T>(compose: ComposeProject, sql: string): Promise<T> {
  const out = await psql(compose, sql);
  return JSON.parse(out.split('\n').at(-1) ?? 'null') as T;
}

export interface Fixtures {
  workspaceId: string;
  accountId: string;
  /** A CalDAV connection to the stubs' (empty) calendar. */
  calendarId: string;
  /** media_files ids by file name: short.wav (quick) and long.wav (held by the stub). */
  media: Record<'short.wav' | 'long.wav', string>;
}

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

export async function insertFixtures(
  compose: ComposeProject,
  env: { MAIL_TOKEN_ENCRYPTION_KEY: string; STUB_REFRESH_TOKEN: string },
): Promise<Fixtures> {
  const token = encryptToken(parseEncryptionKey(env.MAIL_TOKEN_ENCRYPTION_KEY), env.STUB_REFRESH_TOKEN);
  const row = await psqlJson<{ workspace: string; account: string; calendar: string; media: Fixtures['media'] }>(
    compose,
    `WITH o AS (INSERT INTO organizations (name) VALUES ('compose test') RETURNING id),
     w AS (INSERT INTO workspaces (org_id, name) SELECT id, 'compose test' FROM o RETURNING id),
     c AS (
       INSERT INTO contacts (workspace_id, email, display_name, company_domain, job_title, last_interaction_at)
       SELECT w.id, v.email, v.name, v.domain, v.title, now() - v.ago
       FROM w, (VALUES
         ('ada@example.com', 'Ada Lovelace', 'example.com', 'CTO', interval '2 days'),
         ('grace@example.org', 'Grace Hopper', 'example.org', 'VP Engineering', interval '10 days'),
         ('info@example.net', NULL, 'example.net', NULL, NULL)
       ) AS v(email, name, domain, title, ago)
       RETURNING id, workspace_id, email),
     e AS (
       INSERT INTO emails (workspace_id, contact_id, provider_message_id, direction, from_address, subject, body_text, sent_at)
       SELECT c.workspace_id, c.id, 'fixture-' || c.email, 'inbound', c.email, 'Meeting next week',
              'Can we meet on Tuesday to discuss the renewal? It is quite urgent for us.', now() - interval '3 hours'
       FROM c WHERE c.email <> 'info@example.net'
       RETURNING id),
     a AS (
       INSERT INTO mail_accounts (workspace_id, email_address, refresh_token_encrypted)
       SELECT id, 'sales@acme.test', ${literal(token)} FROM w RETURNING id),
     k AS (
       INSERT INTO content_calendars (workspace_id, url)
       SELECT id, 'http://stubs:8080/caldav/content/' FROM w RETURNING id),
     m AS (
       INSERT INTO media_files (workspace_id, source, file_name, mime_type)
       SELECT w.id, 'http://stubs:8080/media/' || v.name, v.name, 'audio/wav'
       FROM w, (VALUES ('short.wav'), ('long.wav')) AS v(name)
       RETURNING id, file_name)
     SELECT json_build_object(
       'workspace', (SELECT id FROM w),
       'account', (SELECT id FROM a),
       'calendar', (SELECT id FROM k),
       'media', (SELECT json_object_agg(file_name, id) FROM m),
       'emails', (SELECT count(*) FROM e));`,
  );
  return { workspaceId: row.workspace, accountId: row.account, calendarId: row.calendar, media: row.media };
}
