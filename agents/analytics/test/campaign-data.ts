/**
 * Generated campaign mail whose right answers are known: a seeded PRNG decides each send's time
 * and whether it was engaged with, at rates the test plants (a best hour, a better variant, a
 * fatigued segment). Same seed, same mail.
 */
import { randomUUID } from 'node:crypto';
import type { Database } from '@fleet/db';
import type { Insertable, Kysely } from 'kysely';

/** mulberry32: small, fast, good enough to simulate Bernoulli trials; deterministic per seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Successes in `n` Bernoulli(p) trials. */
export function binomial(random: () => number, n: number, p: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (random() < p) k++;
  return k;
}

export type EmailRow = Insertable<Database['emails']>;

export interface Send {
  sentAt: Date;
  contactId?: string | null;
  campaignId?: string;
  variant?: string;
  subject?: string;
  opened?: boolean;
  clicked?: boolean;
  replied?: boolean;
}

const HOUR = 3_600_000;

/** An outbound email row of `workspaceId`; engagement lands an hour after the send. */
export function emailRow(workspaceId: string, s: Send): EmailRow {
  const after = new Date(s.sentAt.getTime() + HOUR);
  return {
    workspace_id: workspaceId,
    provider_message_id: randomUUID(),
    direction: 'outbound',
    from_address: 'team@example.org',
    sent_at: s.sentAt,
    contact_id: s.contactId ?? null,
    campaign_id: s.campaignId ?? null,
    variant: s.variant ?? null,
    subject: s.subject ?? null,
    opened_at: s.opened || s.clicked || s.replied ? after : null,
    clicked_at: s.clicked ? after : null,
    replied_at: s.replied ? after : null,
  };
}

export async function insertEmails(db: Kysely<Database>, rows: EmailRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 1_000) {
    await db
      .insertInto('emails')
      .values(rows.slice(i, i + 1_000))
      .execute();
  }
}

/**
 * A send at local hour `hour` of a zone `offsetHours` east of UTC (no DST), `daysBack` whole days
 * before `end`, at a random minute of that hour.
 */
export function atLocalHour(
  end: Date,
  daysBack: number,
  hour: number,
  offsetHours: number,
  random: () => number,
): Date {
  const day = Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate()) - daysBack * 24 * HOUR;
  return new Date(day + (hour - offsetHours) * HOUR + Math.floor(random() * 60) * 60_000);
}
