/**
 * campaign_optimization on generated mail with planted answers, one workspace per scenario (so
 * each one's result also shows that the others' mail was not counted).
 */
import { randomUUID } from 'node:crypto';
import type { Database } from '@fleet/db';
import { createTestDatabase, createWorkspace, type TestDatabase } from '@fleet/testing';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CampaignOptimizationOutput, runCampaignOptimization } from '../src/campaign/campaign-optimization.ts';
import { atLocalHour, binomial, type EmailRow, emailRow, insertEmails, prng } from './campaign-data.ts';

let t: TestDatabase;
let db: Kysely<Database>;

const AS_OF = new Date('2026-04-15T12:00:00Z');
/** The analysis window ends settle_hours (48) before as_of. */
const END = new Date('2026-04-13T12:00:00Z');
const DAY = 86_400_000;

async function contacts(ws: string, n: number, tier: 'hot' | 'warm' | 'cold'): Promise<string[]> {
  const rows = await db
    .insertInto('contacts')
    .values(
      Array.from({ length: n }, () => ({ workspace_id: ws, email: `${randomUUID()}@example.org`, lead_tier: tier })),
    )
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

let timing: { ws: string; sends: number; hot: string[] };
let ab: { ws: string; sends: number };
let fatigue: { ws: string; cold: string[]; warm: string[] };

/**
 * Kolkata (UTC+05:30, no DST): warm contacts engage 20% of the time, 40% at 10:00 local; hot
 * contacts 20%, 40% at 14:00 local; three warm sends to one hot. 08:00-19:00, days 3-80 before
 * the window end.
 */
async function seedTiming(): Promise<typeof timing> {
  const ws = await createWorkspace(db, { timezone: 'Asia/Kolkata' });
  const random = prng(11);
  const warm = await contacts(ws, 500, 'warm');
  const hot = await contacts(ws, 200, 'hot');
  const rows: EmailRow[] = [];
  for (let hour = 8; hour < 20; hour++) {
    for (const [ids, perHour, best, bestRate] of [
      [warm, 300, 10, 0.4],
      [hot, 100, 14, 0.4],
    ] as const) {
      for (let i = 0; i < perHour; i++) {
        const sentAt = atLocalHour(END, 3 + Math.floor(random() * 78), hour, 5.5, random);
        const engaged = random() < (hour === best ? bestRate : 0.2);
        rows.push(emailRow(ws, { sentAt, contactId: ids[Math.floor(random() * ids.length)]!, opened: engaged }));
      }
    }
  }
  await insertEmails(db, rows);
  return { ws, sends: rows.length, hot };
}

/**
 * UTC workspace without contacts. "Spring launch": B truly opens 25% vs A's 20%, 2,000 each.
 * "Newsletter": both 22%. "Pilot": 60 each. Every send at a random hour with the same rates, so
 * no hour stands out. Sends inside the settle period (never opened) must not count.
 */
async function seedAb(other: { hot: string[] }): Promise<typeof ab> {
  const ws = await createWorkspace(db);
  const random = prng(23);
  const campaign = async (name: string) =>
    (
      await db
        .insertInto('email_campaigns')
        .values({ workspace_id: ws, name })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  const rows: EmailRow[] = [];
  const send = (campaignId: string | undefined, variant: string | undefined, p: number, contactId?: string) => {
    const sentAt = new Date(END.getTime() - (1 + random() * 60) * DAY);
    const opened = random() < p;
    rows.push(
      emailRow(ws, {
        sentAt,
        campaignId,
        variant,
        subject: variant ? `Subject ${variant}` : undefined,
        contactId,
        opened,
        clicked: opened && random() < 0.3,
      }),
    );
  };
  const spring = await campaign('Spring launch');
  const newsletter = await campaign('Newsletter');
  const pilot = await campaign('Pilot');
  for (let i = 0; i < 2000; i++) {
    send(spring, 'A', 0.2);
    send(spring, 'B', 0.25);
    send(newsletter, 'A', 0.22);
    send(newsletter, 'B', 0.22);
  }
  for (let i = 0; i < 60; i++) {
    send(pilot, 'A', 0.2);
    send(pilot, 'B', 0.3);
  }
  // Mail naming contacts of another workspace: counted here, but never with that workspace's tiers.
  for (let i = 0; i < 240; i++) send(undefined, undefined, 0.22, other.hot[i % other.hot.length]);
  const counted = rows.length;
  for (let i = 0; i < 500; i++) {
    rows.push(
      emailRow(ws, { sentAt: new Date(END.getTime() + random() * 47 * 3_600_000), campaignId: spring, variant: 'A' }),
    );
  }
  await insertEmails(db, rows);
  return { ws, sends: counted };
}

/**
 * Planted fatigue: 30 cold contacts mailed 6 times (4 engaged) in the previous 28 days and 12
 * times (1 engaged) in the last 28. 30 warm contacts mailed as often, engagement steady (3/6 then
 * 6/12). 60 hot contacts mailed 3 times a window.
 */
async function seedFatigue(): Promise<typeof fatigue> {
  const ws = await createWorkspace(db, { timezone: 'Europe/Berlin' });
  const random = prng(37);
  const cold = await contacts(ws, 30, 'cold');
  const warm = await contacts(ws, 30, 'warm');
  const hot = await contacts(ws, 60, 'hot');
  const rows: EmailRow[] = [];
  const windowSends = (contactId: string, recent: boolean, sends: number, engaged: number) => {
    for (let i = 0; i < sends; i++) {
      const daysBack = (recent ? 0.5 : 28.5) + random() * 27;
      rows.push(emailRow(ws, { sentAt: new Date(END.getTime() - daysBack * DAY), contactId, opened: i < engaged }));
    }
  };
  for (const id of cold) {
    windowSends(id, false, 6, 4);
    windowSends(id, true, 12, 1);
  }
  for (const id of warm) {
    windowSends(id, false, 6, 3);
    windowSends(id, true, 12, 6);
  }
  for (const id of hot) {
    windowSends(id, false, 3, binomial(random, 3, 0.4));
    windowSends(id, true, 3, binomial(random, 3, 0.4));
  }
  await insertEmails(db, rows);
  return { ws, cold, warm };
}

const results = new Map<string, CampaignOptimizationOutput>();
async function analyse(ws: string): Promise<CampaignOptimizationOutput> {
  let r = results.get(ws);
  if (!r) {
    r = await runCampaignOptimization(db, { workspaceId: ws, asOf: AS_OF });
    results.set(ws, r);
  }
  return r;
}

beforeAll(async () => {
  t = await createTestDatabase('campaign_optimization');
  db = t.db;
  timing = await seedTiming();
  ab = await seedAb(timing);
  fatigue = await seedFatigue();
}, 60_000);

afterAll(async () => {
  await t?.drop();
});

describe('best send time', () => {
  it('finds the planted hour in the workspace time zone, and a segment whose best hour differs', async () => {
    const r = await analyse(timing.ws);
    expect(r.timezone).toBe('Asia/Kolkata');
    expect(r.window).toEqual({
      start: '2026-01-13T12:00:00.000Z',
      end: END.toISOString(),
      lookback_days: 90,
      settle_hours: 48,
    });
    const w = r.send_time.workspace;
    expect(w).toMatchObject({ status: 'recommended', best_hour: 10, hours_compared: 12, sends: timing.sends });
    expect(w.p_adjusted!).toBeLessThan(0.05);
    expect(w.p_adjusted).toBeCloseTo(Math.min(1, w.p_value! * 12), 6);
    const bySegment = Object.fromEntries(r.send_time.segments.map((s) => [s.segment, s]));
    expect(Object.keys(bySegment)).toEqual(['hot', 'warm']);
    expect(bySegment.hot).toMatchObject({ status: 'recommended', best_hour: 14 });
    expect(bySegment.warm).toMatchObject({ status: 'recommended', best_hour: 10 });

    const advice = r.recommendations.filter((x) => x.kind === 'send_time');
    expect(advice.map((x) => [x.scope, x.numbers.hour])).toEqual([
      ['workspace', 10],
      ['hot', 14],
    ]);
    expect(advice[0]!.action).toBe('Send mail at 10:00–11:00 Asia/Kolkata');
    expect(advice[0]!.numbers.best_sends).toBe(w.best!.sends);
  });

  it('recommends no hour when every hour performs alike', async () => {
    const r = await analyse(ab.ws);
    expect(r.send_time.workspace.status).toBe('no_clear_winner');
    expect(r.send_time.workspace.p_adjusted!).toBeGreaterThanOrEqual(0.05);
    expect(r.recommendations.some((x) => x.kind === 'send_time')).toBe(false);
  });
});

describe('A/B results', () => {
  it('declares the truly better variant the winner, with its p-value', async () => {
    const r = await analyse(ab.ws);
    const spring = r.ab_tests.find((x) => x.campaign === 'Spring launch')!;
    expect(spring).toMatchObject({ status: 'winner', winner: 'B', leader: 'B', metric: 'open' });
    // The 500 sends of the settle period are not counted.
    expect(spring.variants.map((v) => [v.variant, v.sends, v.subject])).toEqual([
      ['A', 2000, 'Subject A'],
      ['B', 2000, 'Subject B'],
    ]);
    const [c] = spring.comparisons;
    expect(c).toMatchObject({ variant: 'A', against: 'B', test: 'two_proportion_z', significant: true });
    expect(c!.p_value).toBeLessThan(0.01);
    expect(c!.difference_pp).toBeGreaterThan(2);
    const advice = r.recommendations.find((x) => x.kind === 'ab_winner' && x.scope === 'Spring launch')!;
    expect(advice.action).toBe('Use variant B ("Subject B") for the rest of "Spring launch"');
    expect(advice.numbers).toMatchObject({ leader: 'B', runner_up: 'A', p_value: c!.p_value });
  });

  it('finds no difference between equal variants', async () => {
    const r = await analyse(ab.ws);
    const newsletter = r.ab_tests.find((x) => x.campaign === 'Newsletter')!;
    expect(newsletter).toMatchObject({ status: 'no_significant_difference', winner: null });
    expect(newsletter.comparisons[0]!.p_value).toBeGreaterThan(0.05);
    expect(r.recommendations.find((x) => x.scope === 'Newsletter' && x.kind.startsWith('ab_'))?.kind).toMatch(
      /^ab_(continue|no_difference)$/,
    );
  });

  it('does not judge variants below the minimum sample, and says how many sends are needed', async () => {
    const r = await analyse(ab.ws);
    const pilot = r.ab_tests.find((x) => x.campaign === 'Pilot')!;
    expect(pilot).toMatchObject({ status: 'insufficient_sample', winner: null, min_sample_per_variant: 100 });
    expect(pilot.variants.map((v) => v.sends)).toEqual([60, 60]);
    expect(pilot.needed_per_variant).toBeGreaterThan(100);
    const advice = r.recommendations.find((x) => x.scope === 'Pilot')!;
    expect(advice.kind).toBe('ab_continue');
    expect(advice.action).toContain('(the smallest has 60)');
  });
});

describe('fatigue', () => {
  it('detects exactly the planted fatigued contacts and flags their segment only', async () => {
    const r = await analyse(fatigue.ws);
    expect(r.fatigue.high_frequency_contacts).toBe(60);
    expect(r.fatigue.contacts.map((c) => c.contact_id).sort()).toEqual([...fatigue.cold].sort());
    expect(r.fatigue.contacts[0]).toMatchObject({
      segment: 'cold',
      recent_sends: 12,
      previous_sends: 6,
      recent_rate: 0.0833,
      previous_rate: 0.6667,
      drop_pp: 58.33,
    });
    const bySegment = Object.fromEntries(r.fatigue.segments.map((s) => [s.segment, s]));
    expect(Object.keys(bySegment)).toEqual(['cold', 'warm']);
    expect(bySegment.cold).toMatchObject({ fatigued: true, fatigued_contacts: 30, high_frequency_contacts: 30 });
    expect(bySegment.cold!.p_adjusted!).toBeLessThan(0.001);
    expect(bySegment.warm).toMatchObject({ fatigued: false, fatigued_contacts: 0, drop_pp: 0 });
    const advice = r.recommendations.filter((x) => x.kind === 'fatigue');
    expect(advice).toHaveLength(1);
    expect(advice[0]).toMatchObject({ scope: 'cold', numbers: { fatigued_contacts: 30, recent_sends: 360 } });
  });
});

describe('tenant isolation and determinism', () => {
  it("counts only the workspace's own mail, and never another workspace's contacts' tiers", async () => {
    const r = await analyse(ab.ws);
    expect(r.send_time.workspace.sends).toBe(ab.sends);
    expect(r.send_time.segments.map((s) => s.segment)).toEqual(['unscored']);
    expect(r.fatigue.high_frequency_contacts).toBe(0);
    expect((await analyse(timing.ws)).ab_tests).toEqual([]);
  });

  it('gives the same output for the same data and as_of', async () => {
    const again = await runCampaignOptimization(db, { workspaceId: fatigue.ws, asOf: AS_OF });
    expect(again).toEqual(await analyse(fatigue.ws));
  });

  it('refuses bad workspace settings, naming the setting', async () => {
    const ws = await createWorkspace(db, {
      settings: { campaign_optimization: { alpha: 2, fatigue: { maxSends: 0 } } },
    });
    await expect(runCampaignOptimization(db, { workspaceId: ws, asOf: AS_OF })).rejects.toThrow(
      /settings\.campaign_optimization\.alpha: .*settings\.campaign_optimization\.fatigue\.maxSends: must be ≥ 1/,
    );
  });
});
