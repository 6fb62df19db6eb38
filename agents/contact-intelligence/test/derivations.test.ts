import { describe, expect, it } from 'vitest';
import { addressFacts } from '../src/email-address.ts';
import { type MergeInput, mergeEnrichment } from '../src/enrichment-merge.ts';
import { nameFromDisplayName, nameFromLocalPart } from '../src/name-parts.ts';
import { countryOfDomain, normalizePhone, phoneRegions } from '../src/phone.ts';

describe('name parts from display names', () => {
  it.each([
    ['Jane Doe', 'Jane', 'Doe'],
    ['Doe, Jane', 'Jane', 'Doe'],
    ['"DOE, JANE Q."', 'Jane', 'Doe'],
    ['Dr. Jane Q. Doe PhD', 'Jane', 'Doe'],
    ['Jane Doe, PhD', 'Jane', 'Doe'],
    ['jane doe', 'Jane', 'Doe'],
    ['Ludwig van Beethoven', 'Ludwig', 'van Beethoven'],
    ['Ronald McDonald', 'Ronald', 'McDonald'],
    ["MARY-ANNE O'BRIEN", 'Mary-Anne', "O'Brien"],
    ['Jane Doe <jane@acme.io>', 'Jane', 'Doe'],
    ['Jane Doe (Acme)', 'Jane', 'Doe'],
    ['Jane Doe | Acme Sales', 'Jane', 'Doe'],
    ['Cher', 'Cher', null],
    ['José Álvarez', 'José', 'Álvarez'],
  ])('%j → %j %j', (display, first, last) => {
    expect(nameFromDisplayName(display)).toEqual({ firstName: first, lastName: last });
  });

  it.each([[''], ['   '], ['jane@acme.io'], ['+1 415 555 0100'], [null]])('%j holds no name', (display) => {
    expect(nameFromDisplayName(display)).toBeNull();
  });

  it.each([
    ['jane.doe', { firstName: 'Jane', lastName: 'Doe' }],
    ['jane_doe+news', { firstName: 'Jane', lastName: 'Doe' }],
    ['mary-smith', { firstName: 'Mary', lastName: 'Smith' }],
    ['jdoe', null],
    ['j.doe', null],
    ['jane.doe.2', null],
  ])('local part %j → %j', (local, expected) => {
    expect(nameFromLocalPart(local)).toEqual(expected);
  });
});

describe('address facts', () => {
  it.each([
    [
      'jane@acme-corp.co.uk',
      { companyDomain: 'acme-corp.co.uk', companyGuess: 'Acme Corp', isFreeMail: false, isRoleAddress: false },
    ],
    [
      'jane@mail.acme.com',
      { companyDomain: 'acme.com', companyGuess: 'Acme', isFreeMail: false, isRoleAddress: false },
    ],
    ['Jane@GMail.com', { companyDomain: null, companyGuess: null, isFreeMail: true, isRoleAddress: false }],
    ['someone@yahoo.co.uk', { companyDomain: null, companyGuess: null, isFreeMail: true, isRoleAddress: false }],
    [
      'info@initech.com',
      { companyDomain: 'initech.com', companyGuess: 'Initech', isFreeMail: false, isRoleAddress: true },
    ],
    ['sales+eu@initech.com', { companyDomain: 'initech.com', isRoleAddress: true }],
    ['no-reply@github.com', { isRoleAddress: true }],
    ['salesman@initech.com', { isRoleAddress: false }],
    ['root@192.168.1.1', { companyDomain: null, companyGuess: null }],
  ])('%s', (email, expected) => {
    expect(addressFacts(email)).toMatchObject(expected);
  });

  it.each([['not-an-address'], ['@acme.io'], ['jane@']])('%j is not an address', (email) => {
    expect(addressFacts(email)).toBeNull();
  });
});

describe('phone normalization', () => {
  const only = (country: string | null) => phoneRegions({ email: null, companyDomain: null, defaultCountry: country });

  it.each([
    ['(415) 555-0132', 'US', '+14155550132'],
    ['+44 20 7946 0958', null, '+442079460958'],
    ['0044 20 7946 0958', null, '+442079460958'],
    ['030 12345678', 'DE', '+493012345678'],
    ['+1 415 555 0132', 'DE', '+14155550132'],
  ])('%j (default %s) → %s', (raw, country, e164) => {
    expect(normalizePhone(raw, only(country))).toMatchObject({ ok: true, e164 });
  });

  it.each([
    ['12345', 'US', 'phone is not a valid number for US'],
    ['call me maybe', 'US', 'phone is not a valid number for US'],
    ['+1 555', null, 'phone is not a valid number'],
    ['415 555 0132', null, 'phone has no country code and no default country is set'],
  ])('%j (default %s) fails: %s', (raw, country, reason) => {
    const result = normalizePhone(raw, only(country));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
  });

  it.each([
    // A UK number on a .co.uk address, in a workspace whose default is Germany.
    ['020 7946 0958', 'jane@acme-corp.co.uk', null, 'DE', '+442079460958', 'email'],
    // The company's domain names the country when the address is free mail.
    ['01 42 68 53 00', 'claire@gmail.com', 'atelier-lumen.fr', 'US', '+33142685300', 'company_domain'],
    ['03-1234-5678', 'k.watanabe@sakura-trading.co.jp', null, 'US', '+81312345678', 'email'],
    // A number that is not valid in the contact's region falls back to the default.
    ['(415) 555-0132', 'jane@acme-corp.co.uk', null, 'US', '+14155550132', 'default'],
    // .io and .co are sold as generic names: no country in them.
    ['030 12345678', 'ops@globex.io', 'globex.co', 'DE', '+493012345678', 'default'],
    ['+44 20 7946 0958', 'x@acme.fr', null, 'DE', '+442079460958', 'number'],
  ])(
    '%j for %s (company %s, default %s) → %s, region from the %s',
    (raw, email, companyDomain, country, e164, source) => {
      const regions = phoneRegions({ email, companyDomain, defaultCountry: country });
      expect(normalizePhone(raw, regions)).toEqual({ ok: true, e164, country: expect.any(String), source });
    },
  );

  it('names every region it tried when the number is valid in none', () => {
    const regions = phoneRegions({ email: 'jane@acme-corp.co.uk', companyDomain: 'acme.de', defaultCountry: 'FR' });
    expect(regions.map((r) => r.country)).toEqual(['GB', 'DE', 'FR']);
    expect(normalizePhone('12345', regions)).toEqual({
      ok: false,
      reason: 'phone is not a valid number for GB or DE or FR',
    });
  });

  it.each([
    ['acme-corp.co.uk', 'GB'],
    ['kuehne-moebel.de', 'DE'],
    ['pontecargo.com.br', 'BR'],
    ['trattoria-group.it', 'IT'],
    ['startup.io', null],
    ['startup.ai', null],
    ['northwind.com', null],
    ['agency.eu', null],
    [null, null],
  ])('the country of %s is %s', (domain, country) => {
    expect(countryOfDomain(domain)).toBe(country);
  });
});

describe('merge rules', () => {
  const empty = {
    first_name: null,
    last_name: null,
    company: null,
    company_domain: null,
    job_title: null,
    phone: null,
    phone_e164: null,
    is_free_mail: null,
    is_role_address: null,
  };
  const merge = (over: Partial<MergeInput>) =>
    mergeEnrichment({ current: empty, manualFields: [], sources: {}, candidates: {}, ...over });

  it('fills empty fields and records where the value came from', () => {
    const r = merge({ candidates: { company: [{ value: 'Acme', source: 'derived' }] } });
    expect(r.patch).toEqual({ company: 'Acme' });
    expect(r.sources).toEqual({ company: 'derived' });
  });

  it('never touches a person-entered field, even with a provider value, and suggests the difference', () => {
    const r = merge({
      current: { ...empty, company: 'Acme Holdings' },
      manualFields: ['company'],
      sources: { company: 'derived' },
      candidates: { company: [{ value: 'Acme Inc', source: 'provider' }] },
    });
    expect(r.patch).toEqual({});
    expect(r.suggestions.company).toEqual({ value: 'Acme Inc', source: 'provider', kept_because: 'person-entered' });
  });

  it('keeps a value from elsewhere (import, sync) that enrichment did not write', () => {
    const r = merge({
      current: { ...empty, company: 'Imported Ltd' },
      candidates: { company: [{ value: 'Other', source: 'derived' }] },
    });
    expect(r.patch).toEqual({});
    expect(r.suggestions).toEqual({});
  });

  it('a provider value replaces a derived one; a derived one never replaces a provider one', () => {
    const up = merge({
      current: { ...empty, company: 'Acme' },
      sources: { company: 'derived' },
      candidates: {
        company: [
          { value: 'Acme', source: 'derived' },
          { value: 'Acme Inc', source: 'provider' },
        ],
      },
    });
    expect(up.patch).toEqual({ company: 'Acme Inc' });
    expect(up.sources.company).toBe('provider');
    const down = merge({
      current: { ...empty, company: 'Acme Inc' },
      sources: { company: 'provider' },
      candidates: { company: [{ value: 'Acme', source: 'derived' }] },
    });
    expect(down.patch).toEqual({});
  });

  it('re-derives a value it derived before when the input changed', () => {
    const r = merge({
      current: { ...empty, phone_e164: '+14155550100' },
      sources: { phone_e164: 'derived' },
      candidates: { phone_e164: [{ value: '+14155550132', source: 'derived' }] },
    });
    expect(r.patch).toEqual({ phone_e164: '+14155550132' });
  });
});
