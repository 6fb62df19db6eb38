/**
 * Lead scores rank the right contacts. Eleven contacts get realistic histories made of emails
 * from the insight corpus (agents/continuous-intelligence/eval), both ways, with opens, clicks
 * and replies on our mail; the continuous-intelligence agent's heuristic extractor turns them
 * into insights, exactly as in production; then lead scoring runs. The test asserts the tiers
 * and the order a sales lead would put these contacts in.
 */
import { type CorpusEmail, loadCorpus } from '@fleet/agent-continuous-intelligence/eval/corpus';
import { createHeuristicExtractor } from '@fleet/agent-continuous-intelligence/heuristic-extractor';
import { runIntelligenceUpdate } from '@fleet/agent-continuous-intelligence/run-update';
import {
  createTestDatabase,
  createWorkspace,
  DAY,
  insertContact,
  insertEmail,
  type TestDatabase,
} from '@fleet/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLeadScoring } from '../src/lead-scoring.ts';

const log = pino({ level: 'silent' });
const asOf = new Date('2026-06-15T16:00:00.000Z');

/** One email of a history: a corpus email, how many days before asOf, and what the contact did with ours. */
type Step = [id: string, daysAgo: number, engagement?: { opened?: boolean; clicked?: boolean; replied?: boolean }];

interface History {
  email: string;
  profile: { first_name: string; last_name: string; company: string; job_title: string; phone?: string };
  steps: Step[];
}

const read = { opened: true };
const replied = { opened: true, replied: true };
const clickedAndReplied = { opened: true, clicked: true, replied: true };

export const HISTORIES = {
  // Demo, a formal quote, then "our CFO signed off … send the order form".
  buyer: {
    email: 'nathan.cole@summitridge-ortho.com',
    profile: {
      first_name: 'Nathan',
      last_name: 'Cole',
      company: 'Summit Ridge Orthopedics',
      job_title: 'Director of Finance',
      phone: '+1 617 555 0144',
    },
    steps: [
      ['demo-01', 24],
      ['out-09', 24, replied],
      ['pricing-02', 14],
      ['out-11', 13, clickedAndReplied],
      ['buy-01', 2],
      ['out-03', 2, { opened: true, clicked: true }],
    ],
  },
  // One price quote from us, then "we'd like to sign up … happy to put a card on file today".
  quietBuyer: {
    email: 'isabel@moreno-architects.com',
    profile: { first_name: 'Isabel', last_name: 'Moreno', company: 'Moreno Architects', job_title: 'Office Manager' },
    steps: [
      ['out-11', 9, read],
      ['buy-02', 1],
    ],
  },
  // Asked for pricing and a walkthrough; nothing decided yet.
  evaluator: {
    email: 'priya.desai@orbitalfitness.com',
    profile: { first_name: 'Priya', last_name: 'Desai', company: 'Orbital Fitness', job_title: 'Controller' },
    steps: [
      ['pricing-01', 12],
      ['out-11', 12, replied],
      ['demo-02', 6],
      ['out-09', 6, read],
    ],
  },
  // A new lead asking for a call.
  newLead: {
    email: 'sarah.chen@acme-robotics.com',
    profile: { first_name: 'Sarah', last_name: 'Chen', company: 'Acme Robotics', job_title: 'VP Operations' },
    steps: [
      ['meeting-01', 3],
      ['out-02', 2, read],
    ],
  },
  // A happy customer asking what an add-on costs.
  happyCustomer: {
    email: 'olga.ivanova@northlightdesign.com',
    profile: { first_name: 'Olga', last_name: 'Ivanova', company: 'Northlight Design', job_title: 'Controller' },
    steps: [
      ['feedback-01', 40],
      ['mixed-09', 10],
    ],
  },
  // A customer hit by an outage, angry.
  complainer: {
    email: 'gloria.pham@sunrise-dist.com',
    profile: { first_name: 'Gloria', last_name: 'Pham', company: 'Sunrise Distribution', job_title: 'Controller' },
    steps: [
      ['support-01', 20],
      ['out-12', 20, replied],
      ['complaint-01', 5],
      ['out-08', 1, read],
    ],
  },
  // Quote, demo follow-up, revised quote … "we've decided to go with another vendor. Price was the main factor."
  lostDeal: {
    email: 'dana.whitfield@northwind-logistics.com',
    profile: {
      first_name: 'Dana',
      last_name: 'Whitfield',
      company: 'Northwind Logistics',
      job_title: 'Director of Finance Operations',
      phone: '(312) 555-0148',
    },
    steps: [
      ['pricing-03', 30],
      ['out-11', 29, replied],
      ['demo-04', 20],
      ['out-02', 6, clickedAndReplied],
      ['lost-01', 4],
    ],
  },
  // A customer who cancels.
  churning: {
    email: 'victor.lamb@pelicanfreight.com',
    profile: { first_name: 'Victor', last_name: 'Lamb', company: 'Pelican Freight', job_title: 'Finance Manager' },
    steps: [
      ['support-03', 60],
      ['billing-02', 30],
      ['cancel-01', 3],
      ['out-05', 3, read],
    ],
  },
  // Cold outreach, a nudge, "stop emailing me".
  unsubscriber: {
    email: 'jtran@oakridgepartners.com',
    profile: { first_name: 'Jessica', last_name: 'Tran', company: 'Oakridge Partners', job_title: 'Partner' },
    steps: [
      ['out-01', 20, read],
      ['out-04', 12, read],
      ['unsub-02', 10],
    ],
  },
  // Cold outreach answered "Not interested."
  notInterested: {
    email: 'greg.hanley@ironpeak-mfg.com',
    profile: { first_name: 'Greg', last_name: 'Hanley', company: 'Ironpeak Manufacturing', job_title: 'Controller' },
    steps: [
      ['out-01', 8, read],
      ['notint-01', 7],
    ],
  },
  // We keep writing; they open and never answer. Our own enthusiasm is not their interest.
  silent: {
    email: 'ravi@quantmesh.io',
    profile: { first_name: 'Ravi', last_name: 'Shah', company: 'Quantmesh', job_title: 'Head of Finance' },
    steps: [
      ['out-01', 30, read],
      ['out-04', 20, read],
      ['out-13', 10, read],
    ],
  },
  // Our proposal met an auto-reply.
  autoReply: {
    email: 'lisa.park@hooli.com',
    profile: { first_name: 'Lisa', last_name: 'Park', company: 'Hooli', job_title: 'Finance Director' },
    steps: [
      ['out-02', 5],
      ['ooo-01', 5],
    ],
  },
} satisfies Record<string, History>;
type Name = keyof typeof HISTORIES;

let t: TestDatabase;
const scores = {} as Record<Name, { score: number; tier: string; factors: unknown }>;

beforeAll(async () => {
  t = await createTestDatabase('lead_calibration');
  const ws = await createWorkspace(t.db, { timezone: 'America/New_York' });
  const corpus = new Map<string, CorpusEmail>(loadCorpus().map((e) => [e.id, e]));
  const ids = {} as Record<Name, string>;
  for (const [name, h] of Object.entries(HISTORIES) as Array<[Name, History]>) {
    const contact = await insertContact(t.db, ws, { email: h.email, ...h.profile });
    ids[name] = contact;
    for (const [id, daysAgo, engagement] of h.steps) {
      const e = corpus.get(id);
      if (!e) throw new Error(`history ${name} names ${id}, which is not in the corpus`);
      const sentAt = new Date(asOf.getTime() - daysAgo * DAY);
      const later = (hours: number) => new Date(sentAt.getTime() + hours * 3_600_000);
      await insertEmail(t.db, ws, {
        contact_id: contact,
        direction: e.direction,
        from_address: e.direction === 'inbound' ? h.email : 'sam@ledgerly.io',
        to_addresses: e.direction === 'inbound' ? ['sam@ledgerly.io'] : [h.email],
        subject: e.subject,
        body_text: e.body,
        sent_at: sentAt,
        opened_at: engagement?.opened ? later(1) : null,
        clicked_at: engagement?.clicked ? later(2) : null,
        replied_at: engagement?.replied ? later(5) : null,
      });
    }
  }
  const extraction = await runIntelligenceUpdate(
    { workspace_id: ws, batch_size: 10, max_emails: 500 },
    { llm: null, heuristic: createHeuristicExtractor(), defaultMonthlyBudgetUsd: 0, leaseMs: 60_000, maxAttempts: 3 },
    { db: t.db, log, signal: new AbortController().signal },
  );
  expect(extraction.status).toBe('completed');
  const outcome = await runLeadScoring(t.db, log, { workspaceId: ws }, { asOf });
  expect(outcome.status).toBe('completed');
  const rows = await t.db.selectFrom('contacts').select(['id', 'lead_score', 'lead_tier', 'score_factors']).execute();
  for (const [name, id] of Object.entries(ids) as Array<[Name, string]>) {
    const row = rows.find((r) => r.id === id)!;
    scores[name] = { score: row.lead_score!, tier: row.lead_tier!, factors: row.score_factors };
  }
});

afterAll(async () => {
  await t?.drop();
});

describe('lead scores on realistic histories', () => {
  const interested: Name[] = ['buyer', 'quietBuyer', 'evaluator', 'newLead', 'happyCustomer'];
  const saidNo: Name[] = ['lostDeal', 'churning', 'unsubscriber', 'notInterested'];

  it('puts each contact in the tier a sales lead would', () => {
    const tiers = Object.fromEntries((Object.keys(HISTORIES) as Name[]).map((n) => [n, scores[n].tier]));
    expect(tiers).toEqual({
      buyer: 'hot',
      quietBuyer: 'hot',
      evaluator: 'warm',
      newLead: 'warm',
      happyCustomer: 'warm',
      complainer: 'cold',
      lostDeal: 'cold',
      churning: 'cold',
      unsubscriber: 'cold',
      notInterested: 'cold',
      silent: 'cold',
      autoReply: 'cold',
    });
  });

  it('ranks buyers first, then interest, and every "no" below every interested contact and below silence', () => {
    expect(scores.buyer.score).toBeGreaterThanOrEqual(scores.quietBuyer.score);
    for (const n of ['evaluator', 'newLead', 'happyCustomer'] as Name[]) {
      expect(scores.quietBuyer.score, n).toBeGreaterThan(scores[n].score);
    }
    for (const no of [...saidNo, 'complainer' as Name]) {
      for (const yes of interested) expect(scores[no].score, `${no} < ${yes}`).toBeLessThan(scores[yes].score);
    }
    for (const no of saidNo) expect(scores[no].score, `${no} < silent`).toBeLessThan(scores.silent.score);
  });

  it('explains the adjustments in the stored breakdown', () => {
    expect(scores.lostDeal.factors).toMatchObject({
      negative_intent: { intent: 'not_interested', penalty: 30, max_tier: 'cold' },
      // The pricing questions before the "no" no longer count as interest.
      intent: { detail: { strongest_intent: 'not_interested' } },
    });
    expect(scores.unsubscriber.factors).toMatchObject({ negative_intent: { intent: 'unsubscribe' } });
    expect(scores.quietBuyer.factors).toMatchObject({ commitment: { intent: 'purchase_intent', min_tier: 'hot' } });
    // The silent prospect's only insights are of our own mail: no sentiment or intent evidence.
    expect(scores.silent.factors).toMatchObject({
      sentiment: { value: 0, detail: { absent: true } },
      intent: { value: 0, detail: { absent: true } },
    });
  });
});
