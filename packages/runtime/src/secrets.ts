/**
 * Scrubbing of secrets from anything that leaves the process: log lines and audit rows.
 * Three nets: keys that name a secret, URLs that carry credentials, and the literal values of
 * secrets the process was configured with (so a provider echoing a key back cannot leak it).
 */

// `token` but not `tokens`/`input_tokens` (usage counts are data, not secrets).
const SECRET_KEY =
  /passw(or)?d|passphrase|^pass$|secret|token(?!s)|api[-_]?key|authorization|cookie|credential|private[-_]?key/i;
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)([^\s:@/]+):([^\s@/]+)@/gi;
export const REDACTED = '[redacted]';

export interface Scrubber {
  <T>(value: T): T;
  /** False when `json` cannot contain anything to scrub (a cheap test on serialised text). */
  mayContainSecrets(json: string): boolean;
}

/** Env variables whose values are secrets or contain them. */
export function secretValuesFromEnv(env: NodeJS.ProcessEnv): string[] {
  const values: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!value || value.length < 6) continue;
    if (SECRET_KEY.test(name) || /_KEY$/.test(name)) values.push(value);
    if (/_URL$/.test(name)) {
      try {
        const u = new URL(value);
        if (u.password) values.push(decodeURIComponent(u.password), u.password);
      } catch {
        // not a URL; nothing to extract
      }
    }
  }
  return [...new Set(values.filter((v) => v.length >= 6))].sort((a, b) => b.length - a.length);
}

/** Builds a deep scrubber; `secrets` are literal values to replace wherever they appear. */
export function createScrubber(secrets: string[] = []): Scrubber {
  const scrubString = (s: string): string => {
    let out = s.replace(URL_CREDENTIALS, `$1$2:${REDACTED}@`);
    for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  };
  const walk = (value: unknown, depth: number): unknown => {
    if (typeof value === 'string') return scrubString(value);
    if (value === null || typeof value !== 'object' || depth > 8) return value;
    if (value instanceof Date) return value;
    if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1));
    if (value instanceof Error) {
      const copy = new Error(scrubString(value.message));
      copy.name = value.name;
      copy.stack = value.stack ? scrubString(value.stack) : undefined;
      return copy;
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        SECRET_KEY.test(k) && v !== null && v !== undefined && typeof v !== 'boolean' ? REDACTED : walk(v, depth + 1);
    }
    return out;
  };
  const hint = new RegExp(`${SECRET_KEY.source}|://`, 'i');
  const scrubber = (<T>(value: T) => walk(value, 0) as T) as Scrubber;
  scrubber.mayContainSecrets = (json) => hint.test(json) || secrets.some((secret) => json.includes(secret));
  return scrubber;
}
