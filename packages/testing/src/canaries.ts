import { randomBytes } from 'node:crypto';

/**
 * A unique value to plant as a secret and look for afterwards; `label` says where it was planted.
 * The `/` and `+` make its URL-encoded and form-encoded forms differ from the raw one, as real
 * tokens' do (Google refresh tokens start with `1//`).
 */
export function canary(label: string): string {
  return `canary/${label}+${randomBytes(9).toString('hex')}`;
}

/** The encodings a leaked canary is looked for in: raw, base64, base64url and URL-encoded. */
export function canaryEncodings(value: string): Record<string, string> {
  return {
    raw: value,
    base64: Buffer.from(value).toString('base64'),
    base64url: Buffer.from(value).toString('base64url'),
    'url-encoded': encodeURIComponent(value),
    'form-encoded': new URLSearchParams({ v: value }).toString().slice(2),
  };
}

export interface CanaryHit {
  canary: string;
  encoding: string;
  place: string;
}

/**
 * Every occurrence of every canary, in every encoding, in every place (name → text).
 * `checks` counts the (canary, encoding, place) triples looked at.
 */
export function findCanaries(
  canaries: Record<string, string>,
  places: Map<string, string>,
): { hits: CanaryHit[]; checks: number } {
  const hits: CanaryHit[] = [];
  let checks = 0;
  for (const [name, value] of Object.entries(canaries)) {
    const forms = Object.entries(canaryEncodings(value));
    for (const [place, text] of places) {
      for (const [encoding, form] of forms) {
        checks++;
        if (text.includes(form)) hits.push({ canary: name, encoding, place });
      }
    }
  }
  return { hits, checks };
}
