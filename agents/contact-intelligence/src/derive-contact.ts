/**
 * The enrichment candidates of one contact: everything derived offline from its own fields, plus
 * what a provider returned for it. Pure; the merge rules decide what is written.
 */
import { addressFacts } from './email-address.ts';
import type { Candidate, EnrichableField } from './enrichment-merge.ts';
import type { ProviderPerson } from './enrichment-provider.ts';
import { nameFromDisplayName, nameFromLocalPart } from './name-parts.ts';
import { normalizePhone, type PhoneRegionSource, phoneRegions } from './phone.ts';

export interface DeriveInput {
  email: string;
  displayName: string | null;
  /** The contact's phone as stored (a person's or an import's). */
  phone: string | null;
  /** The contact's company domain as stored, if any (it may name a country). */
  companyDomain: string | null;
  /** The workspace's (or agent's) country, tried after the contact's own signals. */
  defaultCountry: string | null;
  provider: ProviderPerson | null;
}

export interface Derivation {
  candidates: Partial<Record<EnrichableField, Candidate[]>>;
  /** Per-field problems that make this contact a failed item (e.g. an unparseable phone). */
  problems: string[];
  /** The country the phone was read in and what said so, when a phone was normalized. */
  phoneRegion: { country: string | null; source: PhoneRegionSource } | null;
  isRoleAddress: boolean | null;
}

export function deriveContact(input: DeriveInput): Derivation {
  const candidates: Derivation['candidates'] = {};
  const problems: string[] = [];
  const add = (field: EnrichableField, value: string | boolean | null | undefined, source: Candidate['source']) => {
    if (value === null || value === undefined || value === '') return;
    const list = candidates[field] ?? [];
    list.push({ value, source });
    candidates[field] = list;
  };

  const facts = addressFacts(input.email);
  if (!facts) problems.push('email is not a valid address');
  if (facts) {
    add('is_free_mail', facts.isFreeMail, 'derived');
    add('is_role_address', facts.isRoleAddress, 'derived');
    add('company_domain', facts.companyDomain, 'derived');
    add('company', facts.companyGuess, 'derived');
  }
  // A role mailbox (sales@…) has no person's name in it, whatever the display name says.
  const name =
    facts?.isRoleAddress === true
      ? null
      : (nameFromDisplayName(input.displayName) ?? (facts ? nameFromLocalPart(facts.localPart) : null));
  if (name) {
    add('first_name', name.firstName, 'derived');
    add('last_name', name.lastName, 'derived');
  }

  const p = input.provider;
  if (p) {
    add('first_name', p.firstName, 'provider');
    add('last_name', p.lastName, 'provider');
    add('job_title', p.jobTitle, 'provider');
    add('company', p.company, 'provider');
    add('company_domain', p.companyDomain?.toLowerCase(), 'provider');
    add('phone', p.phone, 'provider');
  }

  const phone = input.phone ?? p?.phone ?? null;
  let phoneRegion: Derivation['phoneRegion'] = null;
  if (phone !== null && phone.trim() !== '') {
    const regions = phoneRegions({
      email: input.email,
      companyDomain: input.companyDomain ?? p?.companyDomain ?? null,
      defaultCountry: input.defaultCountry,
    });
    const normalized = normalizePhone(phone, regions);
    if (normalized.ok) {
      add('phone_e164', normalized.e164, 'derived');
      phoneRegion = { country: normalized.country, source: normalized.source };
    } else problems.push(normalized.reason);
  }
  return { candidates, problems, isRoleAddress: facts?.isRoleAddress ?? null, phoneRegion };
}
