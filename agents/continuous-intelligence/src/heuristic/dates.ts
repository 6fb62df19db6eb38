/** Dates and times an email mentions, resolved against its sent time in the workspace zone. */
import * as chrono from 'chrono-node';
import type { MentionedDate } from '../insight.ts';
import { localDay, offsetMinutes } from './text.ts';

/** Words chrono reads as a date that, in email, almost never mean one. */
const NOISE = /^(now|right now|may|march|sun|mon|sat)$/i;
/** Durations ("a 30 minute call", "2 hours") are not dates. */
const DURATION = /\b(minute|min|hour|hr|second|sec)s?\b/i;
/** "next week", "last month": spans, not dates. */
const SPAN = /^(next|last|this|previous|the following|coming) (week|weekend|month|year|quarter)$/i;
/** "this morning", "tonight": the sent day itself, never the next one. */
const SAME_DAY = /^(this (morning|afternoon|evening)|tonight)$/i;

const pad = (n: number) => String(n).padStart(2, '0');

export function extractDates(text: string, sentAt: Date, timeZone: string): MentionedDate[] {
  const results = chrono.parse(
    text,
    { instant: sentAt, timezone: offsetMinutes(sentAt, timeZone) },
    { forwardDate: true },
  );
  const seen = new Set<string>();
  const out: MentionedDate[] = [];
  for (const r of results) {
    const words = r.text.trim();
    if (NOISE.test(words) || DURATION.test(words) || SPAN.test(words)) continue;
    const s = r.start;
    const tags = r.tags();
    // "this week", "next month": a span, not a date.
    if (!s.isCertain('day') && !s.isCertain('weekday') && ![...tags].some((t) => t.startsWith('casualReference/')))
      continue;
    if (SAME_DAY.test(words)) {
      out.push(...sameDay(words, sentAt, timeZone, seen));
      continue;
    }
    const year = s.get('year');
    const month = s.get('month');
    const day = s.get('day');
    if (year == null || month == null || day == null) continue;
    const date = `${year}-${pad(month)}-${pad(day)}`;
    const hour = s.get('hour');
    const time = s.isCertain('hour') && hour != null ? `${pad(hour)}:${pad(s.get('minute') ?? 0)}` : null;
    const key = `${date} ${time ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ text: r.text.slice(0, 200), date, time });
  }
  return out.slice(0, 20);
}

function sameDay(text: string, sentAt: Date, timeZone: string, seen: Set<string>): MentionedDate[] {
  const date = localDay(sentAt, timeZone);
  if (seen.has(`${date} `)) return [];
  seen.add(`${date} `);
  return [{ text, date, time: null }];
}
