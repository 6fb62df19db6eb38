import { DEFAULT_HTTP_RETRY_POLICY } from '@fleet/runtime';
import { createTestDatabase, createWorkspace, insertContact, type TestDatabase } from '@fleet/testing';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runContactEnrichment } from '../src/contact-enrichment.ts';
import { createHttpEnrichmentProvider } from '../src/http-enrichment-provider.ts';
import { personBody, type StubProvider, startStubProvider } from './stub-provider.ts';

const log = pino({ level: 'silent' });
const now = new Date('2025-06-15T12:00:00.000Z');
let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase('enrichment');
});
afterAll(async () => {
  await t?.drop();
});

const contact = (id: string) => t.db.selectFrom('contacts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

describe('normalize_email (migration 050)', () => {
  it.each([
    ['  John.Doe+news@GMail.com', 'johndoe@gmail.com'],
    ['j.o.h.n.doe@googlemail.com', 'johndoe@gmail.com'],
    ['Jane+crm@Acme.io', 'jane@acme.io'],
    ['jane.doe@acme.io', 'jane.doe@acme.io'],
    ['+only@acme.io', '+only@acme.io'],
    ['not-an-address', 'not-an-address'],
  ])('%j → %j', async (email, normalized) => {
    const { rows } = await sql<{ n: string }>`SELECT normalize_email(${email}) AS n`.execute(t.db);
    expect(rows[0]!.n).toBe(normalized);
  });
});

describe('contact_enrichment offline derivations', () => {
  let ws: string;
  const ids = {} as Record<'jane' | 'manual' | 'imported' | 'role' | 'badPhone' | 'original' | 'dupe', string>;

  beforeAll(async () => {
    ws = await createWorkspace(t.db, { settings: { enrichment: { default_country: 'US' } } });
    ids.jane = await insertContact(t.db, ws, {
      email: 'jane@acme-corp.co.uk',
      display_name: 'Doe, Jane',
      phone: '(415) 555-0132',
    });
    ids.manual = await insertContact(t.db, ws, {
      email: 'robert.smith@globex.com',
      display_name: 'Robert Smith',
      first_name: 'Bobby',
      company: 'Globex International',
      manual_fields: ['first_name', 'company'],
    });
    ids.imported = await insertContact(t.db, ws, {
      email: 'g@other-corp.com',
      company: 'Imported Ltd',
      source: 'import',
    });
    ids.role = await insertContact(t.db, ws, { email: 'info@initech.com', display_name: 'Initech Info' });
    ids.badPhone = await insertContact(t.db, ws, { email: 'pat.lee@hooli.com', phone: 'call me' });
    ids.original = await insertContact(t.db, ws, {
      email: 'John.Smith@gmail.com',
      created_at: new Date('2025-01-01T00:00:00Z'),
    });
    ids.dupe = await insertContact(t.db, ws, {
      email: 'johnsmith+news@googlemail.com',
      created_at: new Date('2025-02-01T00:00:00Z'),
    });
  });

  it('derives names, company, flags and phones; reports the bad phone as a failed item', async () => {
    const outcome = await runContactEnrichment(t.db, log, { workspaceId: ws }, { now, chunkSize: 3 });
    expect(outcome.status).toBe('partial_failure');
    expect(outcome.costUsd).toBe(0);
    expect(outcome.output).toMatchObject({
      contacts_processed: 7,
      duplicates_flagged: 1,
      failed_count: 1,
      failed: [{ contact_id: ids.badPhone, reason: 'phone is not a valid number for US' }],
      provider: null,
    });

    expect(await contact(ids.jane)).toMatchObject({
      first_name: 'Jane',
      last_name: 'Doe',
      company: 'Acme Corp',
      company_domain: 'acme-corp.co.uk',
      phone: '(415) 555-0132',
      phone_e164: '+14155550132',
      is_free_mail: false,
      is_role_address: false,
      enrichment: { sources: { first_name: 'derived', company: 'derived', phone_e164: 'derived' } },
    });
    expect((await contact(ids.jane)).enriched_at?.toISOString()).toBe(now.toISOString());

    // Person-entered first name and company kept; the empty last name filled.
    expect(await contact(ids.manual)).toMatchObject({
      first_name: 'Bobby',
      last_name: 'Smith',
      company: 'Globex International',
      company_domain: 'globex.com',
    });
    // A value from an import is not replaced by a guess either.
    expect(await contact(ids.imported)).toMatchObject({ company: 'Imported Ltd', company_domain: 'other-corp.com' });
    // A role mailbox gets no person's name.
    expect(await contact(ids.role)).toMatchObject({ is_role_address: true, first_name: null, company: 'Initech' });
    // The contact with a bad phone still got everything else.
    expect(await contact(ids.badPhone)).toMatchObject({ first_name: 'Pat', last_name: 'Lee', phone_e164: null });

    expect(await contact(ids.original)).toMatchObject({ duplicate_of: null, is_free_mail: true, company: null });
    expect(await contact(ids.dupe)).toMatchObject({ duplicate_of: ids.original, is_free_mail: true });
  });

  it('a second run changes nothing', async () => {
    const outcome = await runContactEnrichment(t.db, log, { workspaceId: ws }, { now });
    expect(outcome.output).toMatchObject({
      enriched: 0,
      fields_updated: {},
      duplicates_flagged: 0,
      duplicates_cleared: 0,
    });
  });

  it('keeps a value a person entered after a derivation', async () => {
    await t.db
      .updateTable('contacts')
      .set({ company: 'ACME Corporation', manual_fields: ['company'] })
      .where('id', '=', ids.jane)
      .execute();
    await runContactEnrichment(t.db, log, { workspaceId: ws, contactIds: [ids.jane] }, { now });
    expect(await contact(ids.jane)).toMatchObject({ company: 'ACME Corporation' });
  });

  it('rejects a bad default country naming the setting', async () => {
    const bad = await createWorkspace(t.db, { settings: { enrichment: { default_country: 'USA' } } });
    await expect(runContactEnrichment(t.db, log, { workspaceId: bad }, { now })).rejects.toThrow(
      'settings.enrichment.default_country',
    );
  });
});

describe("contact_enrichment reads phones in the contact's own region first", () => {
  it('a UK number on a .co.uk contact in a DE workspace is a UK number, not a failure', async () => {
    const ws = await createWorkspace(t.db, { settings: { enrichment: { default_country: 'DE' } } });
    const uk = await insertContact(t.db, ws, { email: 'ian.mcallister@thistlegroup.co.uk', phone: '020 7946 0958' });
    const fr = await insertContact(t.db, ws, {
      email: 'claire.dubois@gmail.com',
      company_domain: 'atelier-lumen.fr',
      phone: '01 42 68 53 00',
    });
    const de = await insertContact(t.db, ws, { email: 'lena@startup.io', phone: '030 12345678' });
    const outcome = await runContactEnrichment(t.db, log, { workspaceId: ws }, { now });
    expect(outcome.status).toBe('completed');
    expect(outcome.output).toMatchObject({ failed_count: 0 });
    expect(await contact(uk)).toMatchObject({
      phone_e164: '+442079460958',
      enrichment: { phone_region: { country: 'GB', source: 'email' } },
    });
    expect(await contact(fr)).toMatchObject({
      phone_e164: '+33142685300',
      enrichment: { phone_region: { country: 'FR', source: 'company_domain' } },
    });
    // .io names no country: the workspace's default applies.
    expect(await contact(de)).toMatchObject({
      phone_e164: '+493012345678',
      enrichment: { phone_region: { country: 'DE', source: 'default' } },
    });
  });

  it('a number valid in none of the regions still fails that contact, naming them', async () => {
    const ws = await createWorkspace(t.db, { settings: { enrichment: { default_country: 'DE' } } });
    const bad = await insertContact(t.db, ws, { email: 'ian@thistlegroup.co.uk', phone: '12345' });
    const outcome = await runContactEnrichment(t.db, log, { workspaceId: ws }, { now });
    expect(outcome.status).toBe('failed');
    expect(outcome.output.failed).toEqual([{ contact_id: bad, reason: 'phone is not a valid number for GB or DE' }]);
  });
});

describe('the HTTP provider on its own', () => {
  it('turns a provider that never answers into a per-lookup timeout error', async () => {
    const stub = await startStubProvider('k', { 'slow@acme.io': { status: 'hang' } });
    try {
      const provider = createHttpEnrichmentProvider({ baseUrl: stub.url, apiKey: 'k', timeoutMs: 200 });
      await expect(provider.lookup('slow@acme.io')).rejects.toMatchObject({
        name: 'ProviderError',
        reason: 'provider timed out after 200 ms',
        fatal: false,
      });
      await expect(provider.lookup('unknown@acme.io')).resolves.toEqual({ status: 'not_found' });
    } finally {
      await stub.close();
    }
  });

  it('reports an unreachable provider without a stack of details', async () => {
    const provider = createHttpEnrichmentProvider({ baseUrl: 'http://127.0.0.1:9', apiKey: 'k', timeoutMs: 2_000 });
    await expect(provider.lookup('a@acme.io')).rejects.toMatchObject({
      reason: expect.stringMatching(/^provider unreachable/),
    });
  });
});

describe('contact_enrichment with the HTTP provider', () => {
  const apiKey = 'sk_test_123';
  let stub: StubProvider;
  let ws: string;
  const ids = {} as Record<'alice' | 'carol' | 'nobody' | 'broken' | 'limited' | 'garbled' | 'later' | 'role', string>;

  beforeAll(async () => {
    stub = await startStubProvider(apiKey, {
      'alice@acme.io': {
        status: 200,
        body: personBody({
          given: 'Alice',
          family: 'Liddell',
          title: 'VP Marketing',
          company: 'Acme Inc',
          domain: 'acme.io',
          phone: '+1 415 555 0199',
        }),
      },
      'carol@acme.io': {
        status: 200,
        body: personBody({ given: 'Caroline', title: 'CTO', company: 'Acme Inc', domain: 'acme.io' }),
      },
      'broken@acme.io': { status: 500 },
      'limited@acme.io': { status: 429, retryAfter: 30 },
      'garbled@acme.io': { status: 'malformed' },
      'later@acme.io': { status: 202 },
    });
    ws = await createWorkspace(t.db);
    ids.alice = await insertContact(t.db, ws, { email: 'alice@acme.io' });
    ids.carol = await insertContact(t.db, ws, {
      email: 'carol@acme.io',
      display_name: 'Carol King',
      job_title: 'Head of Product',
      manual_fields: ['job_title'],
    });
    ids.nobody = await insertContact(t.db, ws, { email: 'nobody@acme.io' });
    ids.broken = await insertContact(t.db, ws, { email: 'broken@acme.io' });
    ids.limited = await insertContact(t.db, ws, { email: 'limited@acme.io' });
    ids.garbled = await insertContact(t.db, ws, { email: 'garbled@acme.io' });
    ids.later = await insertContact(t.db, ws, { email: 'later@acme.io' });
    ids.role = await insertContact(t.db, ws, { email: 'sales@acme.io' });
  });
  afterAll(async () => {
    await stub?.close();
  });

  it('merges provider data, lists per-contact provider errors and bills found lookups', async () => {
    // First an offline run, so the company is a derived guess ("Acme") the provider may improve.
    await runContactEnrichment(t.db, log, { workspaceId: ws }, { now });
    expect((await contact(ids.alice)).company).toBe('Acme');

    const provider = createHttpEnrichmentProvider({ baseUrl: `${stub.url}/`, apiKey, costPerMatchUsd: 0.05 });
    const outcome = await runContactEnrichment(t.db, log, { workspaceId: ws }, { now, provider, concurrency: 3 });

    expect(outcome.status).toBe('partial_failure');
    const failed = outcome.output.failed as Array<{ contact_id: string; reason: string }>;
    expect(Object.fromEntries(failed.map((f) => [f.contact_id, f.reason]))).toEqual({
      [ids.broken]: 'provider error (HTTP 500)',
      [ids.limited]: 'provider rate limited the lookup (HTTP 429, retry after 30s)',
      [ids.garbled]: 'provider returned a malformed response body',
    });
    expect(outcome.output.provider).toMatchObject({
      name: 'http',
      lookups: 7,
      found: 2,
      not_found: 1,
      pending: 1,
      errors: 3,
    });
    expect(outcome.costUsd).toBe(0.1);
    // The role mailbox is never looked up.
    expect(stub.requests).not.toContain('sales@acme.io');

    expect(await contact(ids.alice)).toMatchObject({
      first_name: 'Alice',
      last_name: 'Liddell',
      job_title: 'VP Marketing',
      company: 'Acme Inc',
      phone: '+1 415 555 0199',
      phone_e164: '+14155550199',
      enrichment: {
        sources: { company: 'provider', job_title: 'provider', phone: 'provider', phone_e164: 'derived' },
        provider: { name: 'http', status: 'found' },
      },
    });
    // The person-entered title stays; the provider's differing one is kept as a suggestion. The
    // derived first name "Carol" is replaced by the provider's "Caroline".
    expect(await contact(ids.carol)).toMatchObject({
      job_title: 'Head of Product',
      first_name: 'Caroline',
      last_name: 'King',
      enrichment: { suggestions: { job_title: { value: 'CTO', source: 'provider', kept_because: 'person-entered' } } },
    });
  });

  it('retries a 5xx answer within the lookup, and does not sleep through a long Retry-After', async () => {
    stub.requests.length = 0;
    const retry = { retries: 2, baseDelayMs: 5, maxDelayMs: 20, maxInlineWaitMs: 5_000 };
    const provider = createHttpEnrichmentProvider({ baseUrl: stub.url, apiKey, retry });
    await expect(provider.lookup('broken@acme.io')).rejects.toThrow('provider error (HTTP 500)');
    expect(stub.requests).toEqual(['broken@acme.io', 'broken@acme.io', 'broken@acme.io']);

    stub.requests.length = 0;
    await expect(provider.lookup('limited@acme.io')).rejects.toThrow(
      'provider rate limited the lookup (HTTP 429, retry after 30s)',
    );
    expect(stub.requests).toEqual(['limited@acme.io']);
  });

  it('does not look up again what it looked up recently, but retries errors and pending lookups', async () => {
    stub.requests.length = 0;
    // No in-process retries: one request per lookup, so the list shows which contacts were looked up.
    const retry = { ...DEFAULT_HTTP_RETRY_POLICY, retries: 0 };
    const provider = createHttpEnrichmentProvider({ baseUrl: stub.url, apiKey, retry });
    await runContactEnrichment(t.db, log, { workspaceId: ws }, { now, provider });
    expect([...stub.requests].sort()).toEqual([
      'broken@acme.io',
      'garbled@acme.io',
      'later@acme.io',
      'limited@acme.io',
    ]);
  });

  it('stops calling the provider after it rejects the key, and fails when every contact failed', async () => {
    stub.requests.length = 0;
    const provider = createHttpEnrichmentProvider({ baseUrl: stub.url, apiKey: 'wrong' });
    const outcome = await runContactEnrichment(
      t.db,
      log,
      { workspaceId: ws, contactIds: [ids.broken, ids.limited] },
      { now, provider, concurrency: 1 },
    );
    expect(outcome.status).toBe('failed');
    const reasons = (outcome.output.failed as Array<{ contact_id: string; reason: string }>)
      .map((f) => f.reason)
      .sort();
    expect(reasons).toEqual([
      'provider rejected the API key (HTTP 401); check ENRICHMENT_API_KEY',
      'skipped: provider rejected the API key (HTTP 401); check ENRICHMENT_API_KEY',
    ]);
    expect(stub.requests).toHaveLength(0); // the stub counts only authorised requests
    expect(outcome.output.provider).toMatchObject({ lookups: 1, errors: 1 });
  });
});
