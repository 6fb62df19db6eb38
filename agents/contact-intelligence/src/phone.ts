/**
 * Phone numbers to E.164 with libphonenumber-js (Google's metadata, full validation).
 *
 * A number written with its country code says where it is. One without ("020 7946 0958") is read
 * in the regions the contact's own signals point to first, the email's country TLD, then the
 * company domain's, and only then the workspace's (or the agent's) default country: a UK
 * number on a `.co.uk` address is a UK number, whatever country the workspace is in. The first
 * region in which the number is valid wins.
 */
import type { CountryCode } from 'libphonenumber-js/max';
import { isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { parse } from 'tldts';

export type PhoneRegionSource = 'number' | 'email' | 'company_domain' | 'default';

export type PhoneResult =
  | { ok: true; e164: string; country: string | null; source: PhoneRegionSource }
  | { ok: false; reason: string };

/** A region to read a national number in, and why it was chosen. */
export interface RegionCandidate {
  country: string;
  source: Exclude<PhoneRegionSource, 'number'>;
}

export function isCountryCode(value: string): value is CountryCode {
  return isSupportedCountry(value.toUpperCase());
}

/**
 * Country-code TLDs sold as generic names (.io, .co, .ai, .me, .tv, …): a startup on `.io` is
 * not in the British Indian Ocean Territory. Their numbers are read in the default country.
 */
const GENERIC_CCTLDS = new Set([
  'io',
  'co',
  'ai',
  'me',
  'tv',
  'fm',
  'ly',
  'gg',
  'cc',
  'ws',
  'to',
  'sh',
  'so',
  'la',
  'vc',
]);
/** TLDs whose letters are not the ISO code. */
const TLD_TO_ISO: Record<string, string> = { uk: 'GB' };

/** The country a domain's TLD names, or null (generic TLDs and .com/.org/.eu name none). */
export function countryOfDomain(domain: string | null | undefined): string | null {
  if (!domain) return null;
  const suffix = parse(domain.trim().toLowerCase()).publicSuffix;
  if (!suffix) return null;
  const tld = suffix.split('.').pop()!;
  if (tld.length !== 2 || (GENERIC_CCTLDS.has(tld) && suffix === tld)) return null;
  const iso = TLD_TO_ISO[tld] ?? tld.toUpperCase();
  return isCountryCode(iso) ? iso : null;
}

/** Regions to read a national number in, best first, without repeats. */
export function phoneRegions(signals: {
  email: string | null;
  companyDomain: string | null;
  defaultCountry: string | null;
}): RegionCandidate[] {
  const out: RegionCandidate[] = [];
  const add = (country: string | null, source: RegionCandidate['source']) => {
    if (!country || !isCountryCode(country)) return;
    const iso = country.toUpperCase();
    if (!out.some((c) => c.country === iso)) out.push({ country: iso, source });
  };
  add(countryOfDomain(signals.email?.split('@').pop()), 'email');
  add(countryOfDomain(signals.companyDomain), 'company_domain');
  add(signals.defaultCountry, 'default');
  return out;
}

/** The E.164 form of `raw`, read in the first of `regions` where it is valid, or why there is none. */
export function normalizePhone(raw: string, regions: readonly RegionCandidate[]): PhoneResult {
  const text = raw.trim();
  if (text === '') return { ok: false, reason: 'phone is empty' };
  const international = text.startsWith('+') || text.startsWith('00');
  if (international) {
    const parsed = parsePhoneNumberFromString(text.startsWith('00') ? `+${text.slice(2)}` : text);
    if (!parsed?.isValid()) return { ok: false, reason: 'phone is not a valid number' };
    return { ok: true, e164: parsed.number, country: parsed.country ?? null, source: 'number' };
  }
  if (regions.length === 0) {
    return {
      ok: false,
      reason:
        'phone has no country code and no default country is set (settings.enrichment.default_country), ' +
        "nor does the contact's email or company domain name a country",
    };
  }
  for (const region of regions) {
    const parsed = parsePhoneNumberFromString(text, region.country as CountryCode);
    if (parsed?.isValid())
      return { ok: true, e164: parsed.number, country: parsed.country ?? null, source: region.source };
  }
  return { ok: false, reason: `phone is not a valid number for ${regions.map((r) => r.country).join(' or ')}` };
}
