/**
 * Lead-scoring throughput: scores every contact of one workspace (100,000 by default) with the
 * real lead_scoring_batch code, on seeded emails and insights, in a database of its own that it
 * creates, migrates and drops. Three runs:
 *   1. first scoring   — every contact new: scores, factors and a history row each;
 *   2. unchanged rerun — same asOf, nothing changed: scores rewritten, no history;
 *   3. changed rerun   — a later asOf (recency decays): many scores and tiers move.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
 *     npx tsx bench/contact-scoring.ts [--contacts 100000] [--emails-per-contact 5] [--chunk 1000]
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { pino } from 'pino';
import { runLeadScoring } from '../agents/contact-intelligence/src/lead-scoring.ts';
import { createBenchDatabase } from './support.ts';

const { values } = parseArgs({
  options: {
    contacts: { type: 'string', default: '100000' },
    'emails-per-contact': { type: 'string', default: '5' },
    chunk: { type: 'string', default: '1000' },
  },
});
const CONTACTS = Number(values.contacts);
const EMAILS_PER_CONTACT = Number(values['emails-per-contact']);
const CHUNK = Number(values.chunk);
const log = pino({ level: 'silent' });

const bench = await createBenchDatabase('scoring');
const { db, workspaceId } = bench;

try {
  const asOf = new Date('2025-06-15T12:00:00Z');

  const seedStart = performance.now();
  // Deterministic pseudo-random data: setseed() fixes random() for this session.
  await sql`SELECT setseed(0.42)`.execute(db);
  const titles = [
    'CEO',
    'VP Sales',
    'Head of Marketing',
    'Engineering Manager',
    'Senior Engineer',
    'Analyst',
    'Intern',
    null,
  ];
  await sql`
    INSERT INTO contacts (workspace_id, email, first_name, last_name, company, job_title, phone)
    SELECT ${workspaceId}, 'c' || g || '@company' || (g % 5000) || '.com',
           CASE WHEN random() < 0.8 THEN 'First' || g END,
           CASE WHEN random() < 0.7 THEN 'Last' || g END,
           CASE WHEN random() < 0.6 THEN 'Company ' || (g % 5000) END,
           (${titles}::text[])[1 + floor(random() * ${titles.length})::int],
           CASE WHEN random() < 0.3 THEN '+1415555' || lpad((g % 10000)::text, 4, '0') END
      FROM generate_series(1, ${CONTACTS}) AS g
  `.execute(db);
  // Emails: a skewed number per contact (many quiet, some busy), over the last 120 days.
  await sql`
    INSERT INTO emails (workspace_id, contact_id, provider_message_id, direction, from_address, sent_at,
                        opened_at, clicked_at, replied_at)
    SELECT c.workspace_id, c.id, 'm-' || c.id || '-' || n,
           CASE WHEN random() < 0.5 THEN 'inbound' ELSE 'outbound' END,
           c.email, s.sent_at,
           CASE WHEN random() < 0.5 THEN s.sent_at + interval '1 hour' END,
           CASE WHEN random() < 0.15 THEN s.sent_at + interval '2 hours' END,
           CASE WHEN random() < 0.2 THEN s.sent_at + interval '1 day' END
      FROM contacts c
      -- the references to c and n make Postgres draw random() per row instead of once
      CROSS JOIN LATERAL generate_series(1, floor(random() * random() * ${EMAILS_PER_CONTACT * 4} + 0 * length(c.email))::int) AS n
      CROSS JOIN LATERAL (SELECT ${asOf}::timestamptz - random() * interval '120 days' AS sent_at WHERE n > 0) s
     WHERE c.workspace_id = ${workspaceId}
  `.execute(db);
  const intents = ['pricing', 'question', 'meeting_request', 'support', 'purchase', 'newsletter'];
  await sql`
    INSERT INTO email_insights (workspace_id, email_id, contact_id, intent, sentiment, sentiment_score, urgency, extractor)
    SELECT e.workspace_id, e.id, e.contact_id,
           (${intents}::text[])[1 + floor(random() * ${intents.length})::int],
           x.sentiment,
           CASE x.sentiment WHEN 'positive' THEN 0.7 WHEN 'negative' THEN -0.6 ELSE 0 END,
           'low', 'bench'
      FROM emails e
      CROSS JOIN LATERAL (SELECT (ARRAY['positive', 'neutral', 'negative'])[1 + floor(random() * 3)::int] AS sentiment
                          WHERE e.id IS NOT NULL) x
     WHERE e.workspace_id = ${workspaceId} AND e.direction = 'inbound' AND random() < 0.4
  `.execute(db);
  await sql`ANALYZE`.execute(db);
  const counts = await sql<{ contacts: number; emails: number; insights: number }>`
    SELECT (SELECT count(*)::int FROM contacts) AS contacts, (SELECT count(*)::int FROM emails) AS emails,
           (SELECT count(*)::int FROM email_insights) AS insights`.execute(db);
  const seeded = counts.rows[0]!;
  console.log(
    `seeded ${seeded.contacts} contacts, ${seeded.emails} emails, ${seeded.insights} insights in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`,
  );

  const runs: Array<[string, Date]> = [
    ['first scoring', asOf],
    ['unchanged rerun', asOf],
    ['changed rerun (+10 days)', new Date(asOf.getTime() + 10 * 86_400_000)],
  ];
  console.log(`\n| run | contacts | seconds | contacts/s | history rows | tier changes |`);
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [label, at] of runs) {
    const start = performance.now();
    const outcome = await runLeadScoring(db, log, { workspaceId }, { asOf: at, chunkSize: CHUNK });
    const seconds = (performance.now() - start) / 1000;
    const o = outcome.output;
    if (outcome.status !== 'completed') throw new Error(`scoring ended ${outcome.status}: ${outcome.error}`);
    console.log(
      `| ${label} | ${o.contacts_scored} | ${seconds.toFixed(2)} | ${Math.round(Number(o.contacts_scored) / seconds).toLocaleString('en-US')} | ${o.history_rows} | ${o.tier_changes} |`,
    );
  }
  const tiers = await sql<{ lead_tier: string; n: number }>`
    SELECT lead_tier, count(*)::int AS n FROM contacts GROUP BY 1 ORDER BY 1`.execute(db);
  console.log(`\ntiers after the last run: ${tiers.rows.map((r) => `${r.lead_tier} ${r.n}`).join(', ')}`);
  console.log(`chunk ${CHUNK}; node ${process.version}; ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
} finally {
  await bench.drop();
}
