import { PermanentError } from '@fleet/runtime';
import {
  createTestDatabase,
  createWorkspace,
  daysBefore,
  insertContact,
  insertEmail,
  insertInsight,
  type TestDatabase,
  waitFor,
} from '@fleet/testing';
import { sql } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLeadScoring } from '../src/lead-scoring.ts';
import { type ContactSignals, scoreContact, tierOf } from '../src/score-contact.ts';
import { DEFAULT_SCORING_CONFIG, resolveScoringConfig } from '../src/scoring-config.ts';
import { seniorityOf } from '../src/seniority.ts';

const log = pino({ level: 'silent' });
const asOf = new Date('2025-06-15T12:00:00.000Z');
let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase('lead_scoring');
});
afterAll(async () => {
  await t?.drop();
});

async function contactRow(id: string) {
  return t.db
    .selectFrom('contacts')
    .select(['lead_score', 'lead_tier', 'score_factors', 'scored_at', 'last_interaction_at'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
}

/**
 * The default weights add up to 100, so each factor's points are value × weight and the sums
 * below can be checked with pencil and paper.
 */
describe('lead_scoring_batch scores', () => {
  let ws: string;
  const ids = {} as Record<'empty' | 'fresh' | 'max' | 'mid', string>;

  beforeAll(async () => {
    ws = await createWorkspace(t.db);
    // No activity and an empty profile: every factor is 0.
    ids.empty = await insertContact(t.db, ws, { email: 'empty@acme.io' });
    // Brand new, no email yet: seniority 1 × 10 + completeness 4/5 × 5 = 14.
    ids.fresh = await insertContact(t.db, ws, {
      email: 'ceo@newco.io',
      first_name: 'Ada',
      last_name: 'Byron',
      company: 'NewCo',
      job_title: 'CEO',
      created_at: asOf,
    });
    // Maximum engagement: every factor saturated → 100.
    ids.max = await insertContact(t.db, ws, {
      email: 'max@bigco.com',
      first_name: 'Max',
      last_name: 'Power',
      company: 'BigCo',
      job_title: 'Chief Revenue Officer',
      phone: '+14155550100',
    });
    for (let i = 0; i < 10; i++) {
      const inbound = await insertEmail(t.db, ws, {
        contact_id: ids.max,
        direction: 'inbound',
        sent_at: i === 0 ? asOf : daysBefore(asOf, i),
      });
      await insertInsight(t.db, ws, {
        email_id: inbound,
        contact_id: ids.max,
        intent: 'purchase',
        sentiment: 'positive',
        sentiment_score: 1,
      });
      await insertEmail(t.db, ws, {
        contact_id: ids.max,
        direction: 'outbound',
        sent_at: daysBefore(asOf, i + 1),
        opened_at: daysBefore(asOf, i + 0.5),
        clicked_at: daysBefore(asOf, i + 0.5),
        replied_at: daysBefore(asOf, i + 0.25),
      });
    }
    // A middling contact, worked out in the test below.
    ids.mid = await insertContact(t.db, ws, {
      email: 'pm@mid.io',
      first_name: 'Pat',
      last_name: 'Mid',
      company: 'Mid Inc',
      job_title: 'Product Manager',
    });
    const in1 = await insertEmail(t.db, ws, {
      contact_id: ids.mid,
      direction: 'inbound',
      sent_at: daysBefore(asOf, 20),
    });
    const in2 = await insertEmail(t.db, ws, {
      contact_id: ids.mid,
      direction: 'inbound',
      sent_at: daysBefore(asOf, 18),
    });
    await insertEmail(t.db, ws, { contact_id: ids.mid, direction: 'inbound', sent_at: daysBefore(asOf, 14) });
    await insertEmail(t.db, ws, {
      contact_id: ids.mid,
      direction: 'outbound',
      sent_at: daysBefore(asOf, 19),
      opened_at: daysBefore(asOf, 18),
      replied_at: daysBefore(asOf, 17),
    });
    await insertEmail(t.db, ws, { contact_id: ids.mid, direction: 'outbound', sent_at: daysBefore(asOf, 16) });
    // Outside the 180-day lookback: must not count anywhere.
    await insertEmail(t.db, ws, { contact_id: ids.mid, direction: 'inbound', sent_at: daysBefore(asOf, 200) });
    // After asOf: ignored, so the run is reproducible.
    await insertEmail(t.db, ws, {
      contact_id: ids.mid,
      direction: 'inbound',
      sent_at: new Date(asOf.getTime() + 1000),
    });
    await insertInsight(t.db, ws, { email_id: in1, contact_id: ids.mid, intent: 'question', sentiment: 'neutral' });
    await insertInsight(t.db, ws, {
      email_id: in2,
      contact_id: ids.mid,
      intent: 'meeting_request',
      intents: ['question'],
      sentiment: 'positive',
      sentiment_score: 0.5,
    });
  });

  it('scores every contact of the workspace and matches the hand-worked values', async () => {
    const outcome = await runLeadScoring(t.db, log, { workspaceId: ws }, { asOf, chunkSize: 3 });
    expect(outcome.status).toBe('completed');
    expect(outcome.output).toMatchObject({
      contacts_scored: 4,
      newly_scored: 4,
      tier_changes: 0,
      history_rows: 4,
      tiers: { hot: 1, warm: 1, cold: 2 },
      failed_count: 0,
    });

    const empty = await contactRow(ids.empty);
    expect(empty).toMatchObject({ lead_score: 0, lead_tier: 'cold', last_interaction_at: null });
    expect(empty.scored_at?.toISOString()).toBe(asOf.toISOString());

    const fresh = await contactRow(ids.fresh);
    expect(fresh).toMatchObject({ lead_score: 14, lead_tier: 'cold' });
    expect(fresh.score_factors).toMatchObject({
      seniority: { value: 1, weight: 10, points: 10, detail: { level: 'executive' } },
      completeness: { value: 0.8, points: 4, detail: { missing: 'phone' } },
      recency: { value: 0, detail: { last_interaction_at: null } },
    });

    const max = await contactRow(ids.max);
    expect(max).toMatchObject({ lead_score: 100, lead_tier: 'hot' });
    expect(max.last_interaction_at?.toISOString()).toBe(asOf.toISOString());

    // engagement: 3 inbound × 3 + 2 outbound × 1 + 1 open × 1 + 1 reply × 4 = 16 of 40 → 0.4 × 30 = 12
    // recency: last interaction 14 days ago, half-life 14 → 0.5 × 20 = 10
    // frequency: 5 emails in 30 days of 10 → 0.5 × 10 = 5
    // sentiment: mean(0, 0.5) = 0.25 → (0.25 + 1) / 2 = 0.625 × 10 = 6.25
    // intent: max(question 0.4, meeting_request 0.7) = 0.7 × 15 = 10.5
    // seniority: manager 0.6 × 10 = 6; completeness: 4 of 5 → 0.8 × 5 = 4
    // total 53.75 → 54, warm
    const mid = await contactRow(ids.mid);
    expect(mid).toMatchObject({ lead_score: 54, lead_tier: 'warm' });
    expect(mid.score_factors).toMatchObject({
      engagement: {
        value: 0.4,
        points: 12,
        detail: { inbound: 3, outbound: 2, opens: 1, clicks: 0, replies: 1, points: 16 },
      },
      recency: { value: 0.5, points: 10, detail: { days_since: 14 } },
      frequency: { value: 0.5, points: 5, detail: { emails_in_window: 5 } },
      sentiment: { value: 0.625, points: 6.25, detail: { insights: 2, absent: false } },
      intent: { value: 0.7, points: 10.5, detail: { strongest_intent: 'meeting_request' } },
      seniority: { value: 0.6, points: 6 },
      completeness: { value: 0.8, points: 4 },
    });
    expect(mid.last_interaction_at?.toISOString()).toBe(daysBefore(asOf, 14).toISOString());

    const history = await t.db
      .selectFrom('contact_score_history')
      .selectAll()
      .where('contact_id', '=', ids.mid)
      .execute();
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ score: 54, tier: 'warm', previous_score: null, previous_tier: null });
  });

  it('a second run without changes reports no tier or score changes and adds no history', async () => {
    const outcome = await runLeadScoring(t.db, log, { workspaceId: ws }, { asOf });
    expect(outcome.output).toMatchObject({
      contacts_scored: 4,
      newly_scored: 0,
      score_changes: 0,
      tier_changes: 0,
      history_rows: 0,
    });
    const { count } = await t.db
      .selectFrom('contact_score_history')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('workspace_id', '=', ws)
      .executeTakeFirstOrThrow();
    expect(Number(count)).toBe(4);
  });

  it('records a tier change with the previous score when activity arrives', async () => {
    // Five fresh inbound emails with buying intent lift the brand-new CEO from cold.
    for (let i = 0; i < 5; i++) {
      const email = await insertEmail(t.db, ws, {
        contact_id: ids.fresh,
        direction: 'inbound',
        sent_at: daysBefore(asOf, i),
      });
      await insertInsight(t.db, ws, {
        email_id: email,
        contact_id: ids.fresh,
        intent: 'pricing',
        sentiment: 'positive',
      });
    }
    const outcome = await runLeadScoring(t.db, log, { workspaceId: ws, contactIds: [ids.fresh] }, { asOf });
    // engagement 15/40 × 30 = 11.25, recency 1 × 20, frequency 5/10 × 10 = 5, sentiment 1 × 10,
    // intent 0.9 × 15 = 13.5, seniority 10, completeness 4 → 73.75 → 74, hot
    expect(outcome.output).toMatchObject({ contacts_scored: 1, score_changes: 1, tier_changes: 1, history_rows: 1 });
    const history = await t.db
      .selectFrom('contact_score_history')
      .selectAll()
      .where('contact_id', '=', ids.fresh)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(history).toMatchObject({ score: 74, tier: 'hot', previous_score: 14, previous_tier: 'cold' });
  });
});

describe('lead_scoring_batch weights and failures', () => {
  it('uses the workspace weight override from settings.lead_scoring', async () => {
    const ws = await createWorkspace(t.db, {
      settings: {
        lead_scoring: {
          weights: { engagement: 0, recency: 0, frequency: 0, sentiment: 0, intent: 0, completeness: 0, seniority: 3 },
          tiers: { hot: 90 },
        },
      },
    });
    const vp = await insertContact(t.db, ws, { job_title: 'VP of Sales' });
    const ceo = await insertContact(t.db, ws, { job_title: 'Founder & CEO' });
    const outcome = await runLeadScoring(t.db, log, { workspaceId: ws }, { asOf });
    expect(outcome.status).toBe('completed');
    // Only seniority weighs: VP 0.8 → 80 (warm under hot = 90), CEO 1 → 100 (hot).
    expect(await contactRow(vp)).toMatchObject({ lead_score: 80, lead_tier: 'warm' });
    const ceoRow = await contactRow(ceo);
    expect(ceoRow).toMatchObject({ lead_score: 100, lead_tier: 'hot' });
    expect(ceoRow.score_factors).toMatchObject({
      seniority: { weight: 3, points: 100 },
      engagement: { weight: 0, points: 0 },
    });
  });

  it('rejects an invalid override with a permanent error naming the setting', async () => {
    const ws = await createWorkspace(t.db, { settings: { lead_scoring: { weights: { engagement: -1 } } } });
    await insertContact(t.db, ws);
    const run = runLeadScoring(t.db, log, { workspaceId: ws }, { asOf });
    await expect(run).rejects.toBeInstanceOf(PermanentError);
    await expect(run).rejects.toThrow('settings.lead_scoring.weights.engagement: must be ≥ 0');
  });

  it('reports ids that are not contacts of the workspace as failed items (partial_failure)', async () => {
    const ws = await createWorkspace(t.db);
    const other = await createWorkspace(t.db);
    const mine = await insertContact(t.db, ws, { job_title: 'Engineer' });
    const theirs = await insertContact(t.db, other);
    const missing = '00000000-0000-4000-8000-000000000000';
    const outcome = await runLeadScoring(t.db, log, { workspaceId: ws, contactIds: [mine, theirs, missing] }, { asOf });
    expect(outcome.status).toBe('partial_failure');
    expect(outcome.output.contacts_scored).toBe(1);
    expect(outcome.output.failed).toEqual([
      { contact_id: theirs, reason: 'not a contact of this workspace' },
      { contact_id: missing, reason: 'not a contact of this workspace' },
    ]);
    expect(outcome.error).toContain(missing);
    expect((await contactRow(theirs)).lead_score).toBeNull();

    const allBad = await runLeadScoring(t.db, log, { workspaceId: ws, contactIds: [missing] }, { asOf });
    expect(allBad.status).toBe('failed');
  });

  it('two concurrent runs over the same contacts record each change once', async () => {
    const ws = await createWorkspace(t.db);
    for (let i = 0; i < 20; i++) await insertContact(t.db, ws, { job_title: i % 2 ? 'CEO' : 'Analyst' });
    // Hold the rows so both runs reach them at the same time, then let go.
    const blocker = new pg.Client({ connectionString: t.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT id FROM contacts WHERE workspace_id = $1 FOR UPDATE', [ws]);
      const runs = Promise.all([
        runLeadScoring(t.db, log, { workspaceId: ws }, { asOf }),
        runLeadScoring(t.db, log, { workspaceId: ws }, { asOf }),
      ]);
      await waitFor(
        async () => {
          // Asked on another connection: the blocker's transaction sees a frozen pg_stat_activity.
          const { rows } = await sql<{ n: number }>`
            SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(t.db);
          return rows[0]!.n >= 2 ? true : undefined;
        },
        { timeoutMs: 10_000, what: 'both scoring runs waiting for the contact rows' },
      );
      await blocker.query('COMMIT');
      const [a, b] = await runs;
      // The run that got the rows second saw the first one's scores as previous: no change.
      expect([a.output.history_rows, b.output.history_rows].sort()).toEqual([0, 20]);
    } finally {
      await blocker.end();
    }
    const { count } = await t.db
      .selectFrom('contact_score_history')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('workspace_id', '=', ws)
      .executeTakeFirstOrThrow();
    expect(Number(count)).toBe(20);
  });

  it('fails permanently for an unknown workspace', async () => {
    await expect(
      runLeadScoring(t.db, log, { workspaceId: '00000000-0000-4000-8000-00000000beef' }, { asOf }),
    ).rejects.toThrow(/no such workspace/);
  });
});

describe('scoring rules', () => {
  it('tiers at the exact thresholds', () => {
    const tiers = DEFAULT_SCORING_CONFIG.tiers;
    expect([tierOf(70, tiers), tierOf(69, tiers), tierOf(40, tiers), tierOf(39, tiers), tierOf(0, tiers)]).toEqual([
      'hot',
      'warm',
      'warm',
      'cold',
      'cold',
    ]);
  });

  it.each([
    ['CEO', 'executive'],
    ['Co-Founder', 'executive'],
    ['Managing Director', 'executive'],
    ['SVP, Engineering', 'vp_director'],
    ['Head of Growth', 'vp_director'],
    ['Director of Sales', 'vp_director'],
    ['Engineering Manager', 'manager'],
    ['Principal Engineer', 'manager'],
    ['Senior Software Engineer', 'senior'],
    ['Account Executive', 'individual'],
    ['Executive Assistant', 'junior'],
    ['Marketing Intern', 'junior'],
    ['Wizard', 'unknown'],
    ['   ', null],
    [null, null],
  ])('seniority of %j is %j', (title, level) => {
    expect(seniorityOf(title)).toBe(level);
  });

  it('merges overrides over the defaults and keeps what is not overridden', () => {
    const config = resolveScoringConfig({
      lead_scoring: { intent: { values: { renewal: 0.95 } }, recency: { halfLifeDays: 7 } },
    });
    expect(config.intent.values.renewal).toBe(0.95);
    expect(config.intent.values.purchase).toBe(1);
    expect(config.recency.halfLifeDays).toBe(7);
    expect(config.weights).toEqual(DEFAULT_SCORING_CONFIG.weights);
    expect(() => resolveScoringConfig({ lead_scoring: { tiers: { warm: 80, hot: 60 } } })).toThrow(
      /warm \(80\) must not exceed hot/,
    );
    expect(() => resolveScoringConfig({ lead_scoring: { weigths: {} } })).toThrow(/settings\.lead_scoring/);
  });
});

describe('a "no" and a commitment to buy', () => {
  // Worked by hand with the default weights (they add up to 100, so points = value × weight):
  // engagement 5 inbound × 3 + 5 outbound × 1 = 20 of 40 → 0.5 × 30 = 15; recency 2 days, half-life
  // 14 → 0.5^(1/7) = 0.9057 × 20 = 18.11; frequency 10 of 10 → 10; seniority VP 0.8 × 10 = 8;
  // completeness 5 of 5 → 5. That is 56.11 before sentiment and intent.
  const base: ContactSignals = {
    jobTitle: 'VP Finance',
    profile: { firstName: 'Dana', lastName: 'W', company: 'Northwind', phone: '+13125550148' },
    inbound: 5,
    outbound: 5,
    opens: 0,
    clicks: 0,
    replies: 0,
    recentEmails: 10,
    lastInteractionAt: new Date(asOf.getTime() - 2 * 86_400_000),
    insights: 5,
    meanSentiment: 0,
    intents: [],
    latestNegative: null,
    latestCommitment: null,
  };
  const daysAgo = (n: number) => new Date(asOf.getTime() - n * 86_400_000);

  it('a standing "not interested" takes 30 points and caps the tier at cold', () => {
    // sentiment 0 → 0.5 × 10 = 5; intent not_interested 0 → 0: 61.11 → 61, minus 30 = 31.
    const r = scoreContact(
      { ...base, intents: ['not_interested'], latestNegative: { intent: 'not_interested', at: daysAgo(2) } },
      DEFAULT_SCORING_CONFIG,
      asOf,
    );
    expect(r).toMatchObject({ score: 31, tier: 'cold' });
    expect(r.factors.negative_intent).toEqual({
      intent: 'not_interested',
      at: daysAgo(2).toISOString(),
      factors_score: 61,
      penalty: 30,
      max_tier: 'cold',
    });
  });

  it('a complaint caps at warm even when the factors say hot', () => {
    // sentiment 1 → 10, intent complaint 0: engagement and the rest at their maximum would be
    // hot; capped at warm with 15 points off.
    const r = scoreContact(
      {
        ...base,
        inbound: 20,
        replies: 5,
        lastInteractionAt: asOf,
        meanSentiment: 1,
        intents: ['complaint'],
        latestNegative: { intent: 'complaint', at: daysAgo(1) },
      },
      DEFAULT_SCORING_CONFIG,
      asOf,
    );
    // 30 + 20 + 10 + 10 + 0 + 8 + 5 = 83 → 68, and at most warm.
    expect(r).toMatchObject({ score: 68, tier: 'warm', factors: { negative_intent: { factors_score: 83 } } });
  });

  it('buying interest after the "no" lifts the penalty', () => {
    const r = scoreContact(
      {
        ...base,
        intents: ['not_interested', 'pricing_inquiry'],
        latestNegative: { intent: 'not_interested', at: daysAgo(40) },
      },
      DEFAULT_SCORING_CONFIG,
      asOf,
    );
    // 56.11 + 5 + 0.9 × 15 = 74.61 → 75, no adjustment.
    expect(r).toMatchObject({ score: 75, tier: 'hot' });
    expect(r.factors.negative_intent).toBeUndefined();
  });

  it('a commitment to buy within 30 days makes a thin history hot; an older one does not', () => {
    const thin: ContactSignals = {
      ...base,
      inbound: 1,
      outbound: 1,
      recentEmails: 2,
      insights: 1,
      meanSentiment: 0.6,
      intents: ['purchase_intent'],
      latestCommitment: { intent: 'purchase_intent', at: daysAgo(2) },
    };
    // engagement 4/40 × 30 = 3, recency 18.11, frequency 2, sentiment 0.8 × 10 = 8, intent 15,
    // seniority 8, completeness 5 → 59.11 → 59, lifted to the hot threshold 70.
    const recent = scoreContact(thin, DEFAULT_SCORING_CONFIG, asOf);
    expect(recent).toMatchObject({
      score: 70,
      tier: 'hot',
      factors: { commitment: { intent: 'purchase_intent', factors_score: 59, min_tier: 'hot' } },
    });
    const stale = scoreContact(
      { ...thin, latestCommitment: { intent: 'purchase_intent', at: daysAgo(31) } },
      DEFAULT_SCORING_CONFIG,
      asOf,
    );
    expect(stale).toMatchObject({ score: 59, tier: 'warm' });
  });

  it('a workspace can change the penalties, the caps and the commitment rule', () => {
    const config = resolveScoringConfig({
      lead_scoring: {
        negative: { intents: { not_interested: { penalty: 0, maxTier: 'warm' } } },
        commitment: { minTier: 'warm' },
      },
    });
    expect(config.negative.intents.not_interested).toEqual({ penalty: 0, maxTier: 'warm' });
    expect(config.negative.intents.unsubscribe).toEqual(DEFAULT_SCORING_CONFIG.negative.intents.unsubscribe);
    expect(config.commitment).toEqual({ ...DEFAULT_SCORING_CONFIG.commitment, minTier: 'warm' });
    expect(() =>
      resolveScoringConfig({
        lead_scoring: { negative: { intents: { complaint: { penalty: 10, maxTier: 'lukewarm' } } } },
      }),
    ).toThrow(/settings\.lead_scoring\.negative\.intents\.complaint\.maxTier/);
  });
});

describe("lead_scoring_batch reads the contact's own mail", () => {
  it('ignores insights of our outbound mail for sentiment and intent, and a later "no" outweighs earlier interest', async () => {
    const ws = await createWorkspace(t.db);
    const c = await insertContact(t.db, ws, { email: 'dana@northwind.io' });
    const ours = await insertEmail(t.db, ws, { contact_id: c, direction: 'outbound', sent_at: daysBefore(asOf, 9) });
    // Our own "Great news, the order form is attached!" (kind 'outbound', set from the email).
    await insertInsight(t.db, ws, {
      email_id: ours,
      contact_id: c,
      intent: 'purchase_intent',
      sentiment: 'positive',
      sentiment_score: 1,
    });
    const asked = await insertEmail(t.db, ws, { contact_id: c, direction: 'inbound', sent_at: daysBefore(asOf, 8) });
    await insertInsight(t.db, ws, {
      email_id: asked,
      contact_id: c,
      intent: 'pricing_inquiry',
      sentiment: 'neutral',
      sentiment_score: 0,
    });
    const no = await insertEmail(t.db, ws, { contact_id: c, direction: 'inbound', sent_at: daysBefore(asOf, 2) });
    await insertInsight(t.db, ws, {
      email_id: no,
      contact_id: c,
      intent: 'not_interested',
      sentiment: 'negative',
      sentiment_score: -0.5,
    });

    await runLeadScoring(t.db, log, { workspaceId: ws }, { asOf });
    const row = await contactRow(c);
    expect(row.lead_tier).toBe('cold');
    expect(row.score_factors).toMatchObject({
      sentiment: { detail: { insights: 2, mean_sentiment: -0.25 } },
      intent: { value: 0, detail: { strongest_intent: 'not_interested' } },
      negative_intent: { intent: 'not_interested', penalty: 30 },
    });
    expect(row.score_factors).not.toHaveProperty('commitment');
  });
});
