/**
 * Calendar arithmetic on 'YYYY-MM-DD' days. Days are calendar labels in a workspace's time zone;
 * the arithmetic runs in UTC, where every day has 24 hours, so no DST transition can move a label.
 * Turning a day into instants is done by Postgres (see day-window.ts).
 */

export type Day = string;

function toUtc(day: Day): Date {
  return new Date(`${day}T00:00:00.000Z`);
}

function fromUtc(d: Date): Day {
  return d.toISOString().slice(0, 10);
}

export function addDays(day: Day, n: number): Day {
  const d = toUtc(day);
  d.setUTCDate(d.getUTCDate() + n);
  return fromUtc(d);
}

/** Every day from `start` to `end`, both included. */
export function daysBetween(start: Day, end: Day): Day[] {
  const out: Day[] = [];
  for (let d = start; d <= end; d = addDays(d, 1)) out.push(d);
  return out;
}

/** ISO weekday: 1 = Monday … 7 = Sunday. */
export function isoWeekday(day: Day): number {
  return ((toUtc(day).getUTCDay() + 6) % 7) + 1;
}

export function mondayOf(day: Day): Day {
  return addDays(day, 1 - isoWeekday(day));
}

export interface Period {
  kind: 'weekly' | 'monthly';
  start: Day;
  /** Last day, included. */
  end: Day;
  /** Human label: '2025-W23' or '2025-06'. */
  label: string;
}

export function weekPeriod(monday: Day): Period {
  return { kind: 'weekly', start: monday, end: addDays(monday, 6), label: isoWeekLabel(monday) };
}

/** 'YYYY-MM' → that calendar month. */
export function monthPeriod(month: string): Period {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const start = fromUtc(new Date(Date.UTC(y, m - 1, 1)));
  const end = fromUtc(new Date(Date.UTC(y, m, 0)));
  return { kind: 'monthly', start, end, label: month };
}

/** The period just before `p`: the previous week, or the previous calendar month. */
export function previousPeriod(p: Period): Period {
  if (p.kind === 'weekly') return weekPeriod(addDays(p.start, -7));
  return monthPeriod(addDays(p.start, -1).slice(0, 7));
}

/** The last week that ended before `today` (Monday to Sunday). */
export function lastCompleteWeek(today: Day): Period {
  return weekPeriod(addDays(mondayOf(today), -7));
}

/** The last calendar month that ended before `today`. */
export function lastCompleteMonth(today: Day): Period {
  return previousPeriod(monthPeriod(today.slice(0, 7)));
}

function isoWeekLabel(monday: Day): string {
  // The ISO week-numbering year is the year of the week's Thursday.
  const thursday = toUtc(addDays(monday, 3));
  const year = thursday.getUTCFullYear();
  const jan1 = Date.UTC(year, 0, 1);
  const week = Math.floor((thursday.getTime() - jan1) / 86_400_000 / 7) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}
