/** Text helpers shared by the heuristic rules. */
import { stripQuotedText } from '../prompt.ts';

/** Lines that open a sign-off; what follows is the signature. */
export const SIGN_OFF =
  /^\s*(best|best regards|kind regards|warm regards|regards|thanks|thanks again|many thanks|thank you|cheers|sincerely|all the best|talk soon|br)\s*[,!.]?\s*$/i;

export interface SplitBody {
  /** The message itself: no quoted history, no signature. */
  main: string;
  /** Lines after the sign-off (name, title, company, phone...). */
  signature: string[];
}

/** Removes quoted history and separates the signature block. */
export function splitBody(bodyText: string | null, snippet: string | null): SplitBody {
  const body = stripQuotedText(bodyText ?? snippet ?? '');
  const lines = body.split(/\r?\n/);
  let cut = lines.findIndex((l, i) => i > 0 && SIGN_OFF.test(l));
  if (cut === -1) cut = lines.findIndex((l) => /^--\s*$/.test(l));
  if (cut === -1) return { main: body, signature: [] };
  return {
    main: lines.slice(0, cut).join('\n').trim(),
    signature: lines
      .slice(cut + 1)
      .map((l) => l.trim())
      .filter((l) => l !== ''),
  };
}

/** "Re: …", "AW: …", "Fwd: …": the subject of a reply or forward repeats the earlier message. */
export function isReplySubject(subject: string): boolean {
  return /^\s*(re|aw|sv|vs|antw|fwd?|wg|tr)\s*:/i.test(subject);
}

/** Splits prose into sentences (good enough for email: ., !, ? and line breaks). */
export function sentences(text: string): string[] {
  return text
    .replace(/\r/g, '')
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.replace(/\s+/g, ' ').trim())
    .filter((s) => s.length > 1);
}

/** 'YYYY-MM-DD' of an instant in an IANA zone. */
export function localDay(instant: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    instant,
  );
}

/** The zone's UTC offset in minutes at an instant (e.g. 120 for Europe/Berlin in summer). */
export function offsetMinutes(instant: Date, timeZone: string): number {
  const part = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })
    .formatToParts(instant)
    .find((p) => p.type === 'timeZoneName')?.value;
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(part ?? '');
  if (!m) return 0;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === '-' ? -minutes : minutes;
}

/** Whole days from day `a` to day `b` ('YYYY-MM-DD'). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}
