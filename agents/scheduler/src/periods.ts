/**
 * Calendar periods a tick refers to, in a workspace's time zone. A report job carries its period
 * explicitly, so a job that runs late (backlog, outage) still reports the period its tick meant.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(tz, f);
  }
  return f;
}

/** True when Node knows `tz` as an IANA time zone. */
export function isValidTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

/** The calendar day of `instant` in `tz`, as a UTC-midnight Date (for day arithmetic only). */
function localDay(instant: Date, tz: string): Date {
  const parts = Object.fromEntries(
    formatter(tz)
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  return new Date(Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day)));
}

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function addDays(d: Date, days: number): Date {
  return new Date(d.getTime() + days * 86_400_000);
}

/** The day before `instant`'s local day in `tz` ('YYYY-MM-DD'): the last complete day. */
export function previousDay(instant: Date, tz: string): string {
  return isoDay(addDays(localDay(instant, tz), -1));
}

/** Monday of the last complete ISO week before `instant`'s local week in `tz`. */
export function previousWeekStart(instant: Date, tz: string): string {
  const today = localDay(instant, tz);
  const sinceMonday = (today.getUTCDay() + 6) % 7;
  return isoDay(addDays(today, -sinceMonday - 7));
}

/** The month before `instant`'s local month in `tz` ('YYYY-MM'). */
export function previousMonth(instant: Date, tz: string): string {
  const today = localDay(instant, tz);
  const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 1, 1));
  return isoDay(d).slice(0, 7);
}
