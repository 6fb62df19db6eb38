/**
 * Days and times an email mentions, resolved against its send time in the workspace zone.
 *
 * chrono-node finds the mentions; the day a bare weekday or a yearless date means is decided
 * here, from the words around it, the way a reader does:
 *   - a weekday in a past-tense clause ("the sync failed on Tuesday morning") is the most recent
 *     such day before the send day; otherwise the next one after it ("by Thursday", said on a
 *     Thursday, is a week away); "last Tuesday" is the one before;
 *   - bare weekdays next to "next week" ("next week? Tuesday or Wednesday works") are next week's;
 *   - a date without a year ("March 1") is its nearest occurrence;
 *   - a time with no day ("4pm my time") belongs to the day mentioned just before it, else the
 *     send day; ranges give their first and last day; "May 5 and 6" both days;
 *   - spans ("next week", "Q3"), offsets and durations ("in two weeks", "60 days") are not dates.
 */
import * as chrono from 'chrono-node';
import type { MentionedDate } from '../insight.ts';
import { clauseAt, isPastClause } from './tense.ts';
import { localDay, offsetMinutes } from './text.ts';

/** Words chrono reads as a date that, in email, almost never mean one. */
const NOISE = /^(now|right now|may|march|sun|mon|sat|morning|afternoon|evening|noon)$/i;
/** Durations and offsets ("a 30 minute call", "two weeks past due", "in a day"). */
const DURATION =
  /\b(\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|few|couple( of)?|several)[\s-]+(business |working |calendar )?(minute|min|hour|hr|second|sec|day|week|month|year|quarter)s?\b/i;
/** "next week", "last month", "the weekend", "the week after": spans, not days. */
const SPAN = /\b(week|weekend|month|year|quarter|fortnight)\b(?! of)|\bweek of\b/i;
/** "this morning", "tonight": the sent day itself, never the next one. */
const SAME_DAY = /^(this (morning|afternoon|evening)|tonight)$/i;
/** Repeating times ("every morning", "on Mondays") are habits, not mentions. */
const REPEATING = /\b(every|each)\s+$/i;
/** Words that name a day, as opposed to a bare number chrono took for an hour. */
const DAY_WORD =
  /\b(today|tonight|tomorrow|yesterday|mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|\d{1,2}[/.-]\d{1,2}/i;
/** Weekday names, Sunday first (Date.getUTCDay order). */
export const WEEKDAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

const pad = (n: number) => String(n).padStart(2, '0');

/** A mention together with the sentence it was found in (index into the caller's list). */
export interface DatedMention extends MentionedDate {
  sentence: number;
}

interface Day {
  y: number;
  m: number;
  d: number;
}
const dayOf = (iso: string): Day => {
  const [y, m, d] = iso.split('-').map(Number) as [number, number, number];
  return { y, m, d };
};
const isoOf = (day: Day) => `${day.y}-${pad(day.m)}-${pad(day.d)}`;
const toUtc = (day: Day) => Date.UTC(day.y, day.m - 1, day.d);
const addDays = (day: Day, n: number): Day => {
  const t = new Date(toUtc(day) + n * 86_400_000);
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
};
const weekdayOf = (day: Day) => new Date(toUtc(day)).getUTCDay();

/**
 * Resolves the mentions of each sentence. `sentences` is the email's main text cut into
 * sentences (text.ts `sentences`), in order.
 */
export function resolveDates(sentences: string[], sentAt: Date, timeZone: string): DatedMention[] {
  const today = dayOf(localDay(sentAt, timeZone));
  const ref = { instant: sentAt, timezone: offsetMinutes(sentAt, timeZone) };
  const out: DatedMention[] = [];
  let nextWeekContext = false;

  sentences.forEach((sentence, si) => {
    // "next week" governs the weekdays after it, and those of the following sentence.
    const nextWeekAt = sentence.search(/\bnext week\b/i);
    const previousSaidNextWeek = nextWeekContext;
    nextWeekContext = nextWeekAt >= 0;
    const found: DatedMention[] = [];
    const add = (day: Day, time: string | null, text: string) =>
      found.push({ text: text.slice(0, 200), date: isoOf(day), time, sentence: si });

    for (const m of sentence.matchAll(/\bend of (the |this )?(next )?week\b/gi)) {
      // Friday of this week (Monday = 0), or of the next one.
      const friday = addDays(today, 4 - ((weekdayOf(today) + 6) % 7) + (m[2] ? 7 : 0));
      add(friday, null, m[0]);
    }
    for (const m of sentence.matchAll(
      /\b(?:on|by|for|until|the)\s+(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)\b(?!\s+of\b)/gi,
    )) {
      const n = Number(m[1]);
      if (n < 1 || n > 31) continue;
      let day: Day = { ...today, d: n };
      if (n < today.d) day = today.m === 12 ? { y: today.y + 1, m: 1, d: n } : { y: today.y, m: today.m + 1, d: n };
      add(day, null, m[0]);
    }

    for (const r of chrono.parse(sentence, ref)) {
      const words = r.text.trim();
      const s = r.start;
      if (NOISE.test(words) || DURATION.test(words) || /\bend of .*week\b/i.test(words)) continue;
      if (REPEATING.test(sentence.slice(0, r.index))) continue;
      if (SAME_DAY.test(words)) {
        add(today, null, words);
        continue;
      }
      const weekdayOnly = s.isCertain('weekday') && !s.isCertain('day');
      if (SPAN.test(words) && !weekdayOnly && !/\bend of\b/i.test(words)) continue;
      if (/\bweekend\b/i.test(words)) continue;
      const hour = s.get('hour');
      // Only a clock time counts as a time: "at 1,450 USD" is not one o'clock, "in half" is no hour.
      const clock = /\d:\d\d|\d\s*(am|pm|a\.m|p\.m)\b|\bnoon\b|o'clock/i.test(words);
      const time = s.isCertain('hour') && hour != null && clock ? `${pad(hour)}:${pad(s.get('minute') ?? 0)}` : null;
      if (s.isCertain('hour') && !clock && !DAY_WORD.test(words)) continue;
      const clause = clauseAt(sentence, r.index);
      const before = clause.slice(0, Math.max(0, clause.indexOf(words)));
      const past = isPastClause(clause, sentence) || /\bsince\b/i.test(before);
      const inNextWeek = previousSaidNextWeek || (nextWeekAt >= 0 && nextWeekAt < r.index);

      if (weekdayOnly) {
        add(resolveWeekday(today, s.get('weekday')!, sentence, r.index, words, past, inNextWeek), time, words);
        continue;
      }
      if (!s.isCertain('day')) {
        // A time of day alone ("4pm my time"): the day named just before it, else the send day.
        if (time === null) continue;
        const last = out.at(-1);
        const previous = found.at(-1) ?? (last && last.sentence >= si - 2 ? last : undefined);
        if (previous) add(dayOf(previous.date), time, words);
        else add(today, time, words);
        continue;
      }
      let day: Day = { y: s.get('year')!, m: s.get('month')!, d: s.get('day')! };
      if (!s.isCertain('year')) day = nearestYear(today, day);
      add(day, time, words);
      if (r.end?.isCertain('day')) {
        let end: Day = { y: day.y, m: r.end.get('month')!, d: r.end.get('day')! };
        if (toUtc(end) < toUtc(day)) end = { ...end, y: end.y + 1 };
        add(end, null, words);
      }
      // "April 2 or 3", "May 5 and 6", "March 30-31": more days of the same month.
      const rest = sentence.slice(r.index + r.text.length);
      const more =
        /^\s*(?:,|or|and|&|-|–|to|through)\s*(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\b(?!\s*(?::|am|pm|%|\/|\d|[a-z]))/i.exec(
          rest,
        );
      if (more && !r.end) {
        const n = Number(more[1]);
        if (n > day.d && n <= 31) add({ ...day, d: n }, null, `${words} ${more[0].trim()}`);
      }
    }
    found.sort((a, b) => a.date.localeCompare(b.date));
    out.push(...found);
  });

  const seen = new Set<string>();
  return out.filter((d) => {
    const key = `${d.date} ${d.time ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function resolveWeekday(
  today: Day,
  weekday: number,
  sentence: string,
  index: number,
  words: string,
  past: boolean,
  inNextWeek: boolean,
): Day {
  const before = sentence.slice(Math.max(0, index - 12), index).toLowerCase();
  const lowered = words.toLowerCase();
  const todayWd = weekdayOf(today);
  const back = (todayWd - weekday + 7) % 7 || 7;
  const ahead = (weekday - todayWd + 7) % 7 || 7;
  if (/^last\b/.test(lowered) || /\blast\s*$/.test(before)) return addDays(today, -back);
  if (/^(this|next|coming)\b/.test(lowered) || /\b(this|next|coming)\s*$/.test(before)) {
    if (/^this\b/.test(lowered) || /\bthis\s*$/.test(before)) {
      // This week's day, Monday to Sunday.
      const mondayOffset = (todayWd + 6) % 7;
      return addDays(today, ((weekday + 6) % 7) - mondayOffset);
    }
    return addDays(today, ahead);
  }
  if (past || /\bsince\s*$/.test(before)) return addDays(today, -back);
  if (inNextWeek) {
    const mondayNext = addDays(today, 7 - ((todayWd + 6) % 7));
    return addDays(mondayNext, (weekday + 6) % 7);
  }
  return addDays(today, ahead);
}

/**
 * The occurrence of a yearless date closest to the send day. Tense is not consulted: "was
 * supposed to end on April 30" and "we were promised February 1" still mean the coming ones.
 */
function nearestYear(today: Day, day: Day): Day {
  const t = toUtc(today);
  let best = { ...day };
  for (const y of [day.y - 1, day.y + 1]) {
    const c = { ...day, y };
    if (Math.abs(toUtc(c) - t) < Math.abs(toUtc(best) - t)) best = c;
  }
  return best;
}
