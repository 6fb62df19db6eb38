/**
 * Phone numbers to E.164 with libphonenumber-js (Google's metadata, full validation). A number
 * without a country code needs a default country: the workspace's, or the agent's.
 */
import type { CountryCode } from 'libphonenumber-js/max';
import { isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/max';

export type PhoneResult = { ok: true; e164: string; country: string | null } | { ok: false; reason: string };

export function isCountryCode(value: string): value is CountryCode {
  return isSupportedCountry(value.toUpperCase());
}

/** The E.164 form of `raw`, or why there is none. */
export function normalizePhone(raw: string, defaultCountry: string | null): PhoneResult {
  const text = raw.trim();
  if (text === '') return { ok: false, reason: 'phone is empty' };
  const international = text.startsWith('+') || text.startsWith('00');
  if (!international && !defaultCountry) {
    return {
      ok: false,
      reason: 'phone has no country code and no default country is set (settings.enrichment.default_country)',
    };
  }
  const country =
    defaultCountry && isCountryCode(defaultCountry) ? (defaultCountry.toUpperCase() as CountryCode) : undefined;
  const parsed = parsePhoneNumberFromString(text.startsWith('00') ? `+${text.slice(2)}` : text, country);
  if (!parsed?.isValid()) {
    return { ok: false, reason: `phone is not a valid number${country && !international ? ` for ${country}` : ''}` };
  }
  return { ok: true, e164: parsed.number, country: parsed.country ?? null };
}
