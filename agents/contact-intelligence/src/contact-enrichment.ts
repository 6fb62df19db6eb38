/**
 * contact_enrichment: derives what can be derived offline, asks the provider (when configured)
 * about contacts it has not seen lately, merges by the rules in enrichment-merge.ts, and flags
 * duplicates. Provider calls happen outside any transaction; the merge re-reads each chunk under
 * row locks, so a person's edit made meanwhile wins over the guess.
 */
import type { Database, JsonObject, JsonValue } from '@fleet/db';
import { PermanentError } from '@fleet/runtime';
import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import { type BatchStatus, batchStatus, failureFields, failureSummary, type ItemFailure } from './batch-result.ts';
import { forEachContactChunk } from './contact-chunks.ts';
import { deriveContact } from './derive-contact.ts';
import { flagDuplicates } from './duplicates.ts';
import { addressFacts } from './email-address.ts';
import { ENRICHABLE_FIELDS, type EnrichableField, type FieldSource, mergeEnrichment } from './enrichment-merge.ts';
import type { EnrichmentProvider, LookupResult, ProviderPerson } from './enrichment-provider.ts';
import { ProviderError } from './enrichment-provider.ts';
import { isCountryCode } from './phone.ts';
import { loadWorkspace } from './workspace.ts';

export interface EnrichmentInput {
  workspaceId: string;
  contactIds?: string[];
}

export interface EnrichmentOptions {
  provider?: EnrichmentProvider | null;
  /** Country for numbers without a country code when the workspace sets none (ISO 3166 alpha-2). */
  defaultCountry?: string | null;
  /** A contact looked up by the provider within this many days is not looked up again. */
  refreshDays?: number;
  /** Provider lookups in flight at once. */
  concurrency?: number;
  chunkSize?: number;
  now?: Date;
  signal?: AbortSignal;
  onProgress?: (done: number) => void | Promise<void>;
}

export interface EnrichmentOutcome {
  status: BatchStatus;
  output: JsonObject;
  costUsd: number;
  error?: string;
}

interface ContactRow {
  id: string;
  email: string;
  display_name: string | null;
  manual_fields: string[];
  duplicate_of: string | null;
  enrichment: JsonValue;
  first_name: string | null;
  last_name: string | null;
  company: string | null;
  company_domain: string | null;
  job_title: string | null;
  phone: string | null;
  phone_e164: string | null;
  is_free_mail: boolean | null;
  is_role_address: boolean | null;
}

interface ProviderStats {
  lookups: number;
  found: number;
  not_found: number;
  pending: number;
  errors: number;
}

const DAY_MS = 86_400_000;

export async function runContactEnrichment(
  db: Kysely<Database>,
  log: Logger,
  input: EnrichmentInput,
  options: EnrichmentOptions = {},
): Promise<EnrichmentOutcome> {
  const now = options.now ?? new Date();
  const provider = options.provider ?? null;
  const workspace = await loadWorkspace(db, input.workspaceId);
  const defaultCountry = resolveDefaultCountry(workspace.settings, options.defaultCountry ?? null);

  const failures: ItemFailure[] = [];
  const fieldsUpdated: Partial<Record<EnrichableField, number>> = {};
  const stats: ProviderStats = { lookups: 0, found: 0, not_found: 0, pending: 0, errors: 0 };
  let attempted = 0;
  let enriched = 0;
  let providerDisabled: string | null = null;

  await forEachContactChunk(db, workspace.id, input.contactIds, options.chunkSize ?? 500, async (ids) => {
    options.signal?.throwIfAborted();
    attempted += ids.length;

    // 1. Provider lookups, outside any transaction (no row locks held across HTTP calls).
    const lookups = new Map<string, LookupResult | ProviderError>();
    if (provider && !providerDisabled) {
      const due = await contactsDueForLookup(db, workspace.id, ids, now, options.refreshDays ?? 30);
      await mapLimit(due, options.concurrency ?? 4, async (c) => {
        if (providerDisabled) {
          lookups.set(c.id, new ProviderError(`skipped: ${providerDisabled}`));
          return;
        }
        stats.lookups += 1;
        try {
          const result = await provider.lookup(c.email, options.signal);
          lookups.set(c.id, result);
          stats[result.status] += 1;
        } catch (error) {
          if (!(error instanceof ProviderError)) throw error;
          stats.errors += 1;
          lookups.set(c.id, error);
          if (error.fatal) providerDisabled = error.reason;
        }
      });
    }

    // 2. Merge and write under row locks.
    const found = await db.transaction().execute(async (trx) => {
      const rows = (
        await sql<ContactRow>`
        SELECT id, email, display_name, manual_fields, duplicate_of, enrichment, first_name, last_name, company,
               company_domain, job_title, phone, phone_e164, is_free_mail, is_role_address
          FROM contacts
         WHERE workspace_id = ${workspace.id} AND id = ANY(${ids}::uuid[])
         ORDER BY id
           FOR UPDATE
      `.execute(trx)
      ).rows;

      const updates: JsonObject[] = [];
      for (const row of rows) {
        const lookup = lookups.get(row.id);
        const person: ProviderPerson | null =
          lookup && !(lookup instanceof Error) && lookup.status === 'found' ? lookup.person : null;
        const derivation = deriveContact({
          email: row.email,
          displayName: row.display_name,
          phone: row.phone,
          companyDomain: row.company_domain,
          defaultCountry,
          provider: person,
        });
        const previous = asObject(row.enrichment);
        const merge = mergeEnrichment({
          current: Object.fromEntries(ENRICHABLE_FIELDS.map((f) => [f, row[f]])) as Record<
            EnrichableField,
            string | boolean | null
          >,
          manualFields: row.manual_fields,
          sources: asObject(previous.sources) as Partial<Record<EnrichableField, FieldSource>>,
          candidates: derivation.candidates,
        });

        const problems = [...derivation.problems];
        if (lookup instanceof ProviderError) problems.push(lookup.reason);
        if (problems.length > 0) failures.push({ contact_id: row.id, reason: problems.join('; ') });

        const changed = Object.keys(merge.patch) as EnrichableField[];
        for (const f of changed) fieldsUpdated[f] = (fieldsUpdated[f] ?? 0) + 1;
        if (changed.length > 0) enriched += 1;

        const enrichment: JsonObject = {
          ...previous,
          sources: merge.sources,
          suggestions: merge.suggestions as JsonObject,
          derived_at: now.toISOString(),
        };
        if (derivation.phoneRegion) enrichment.phone_region = derivation.phoneRegion;
        if (lookup) {
          enrichment.provider =
            lookup instanceof ProviderError
              ? {
                  ...asObject(previous.provider),
                  name: provider!.name,
                  last_error: lookup.reason,
                  attempted_at: now.toISOString(),
                }
              : { name: provider!.name, status: lookup.status, looked_up_at: now.toISOString() };
        }
        const values: JsonObject = { id: row.id, changed: changed.length > 0, enrichment };
        for (const f of ENRICHABLE_FIELDS) values[f] = f in merge.patch ? merge.patch[f]! : row[f];
        updates.push(values);
      }

      if (updates.length > 0) {
        await sql`
          UPDATE contacts AS c
             SET first_name = v.first_name, last_name = v.last_name, company = v.company,
                 company_domain = v.company_domain, job_title = v.job_title, phone = v.phone,
                 phone_e164 = v.phone_e164, is_free_mail = v.is_free_mail, is_role_address = v.is_role_address,
                 enrichment = v.enrichment, enriched_at = ${now},
                 updated_at = CASE WHEN v.changed THEN now() ELSE c.updated_at END
            FROM jsonb_to_recordset(${JSON.stringify(updates)}::jsonb) AS v(
                   id uuid, changed boolean, enrichment jsonb, first_name text, last_name text, company text,
                   company_domain text, job_title text, phone text, phone_e164 text,
                   is_free_mail boolean, is_role_address boolean)
           WHERE c.id = v.id
        `.execute(trx);
      }
      return new Set(rows.map((r) => r.id));
    });
    for (const id of ids)
      if (!found.has(id)) failures.push({ contact_id: id, reason: 'not a contact of this workspace' });
    await options.onProgress?.(attempted);
  });

  const duplicates = await flagDuplicates(db, workspace.id);
  const costUsd = provider ? roundUsd(stats.found * provider.costPerMatchUsd) : 0;
  log.info(
    { workspaceId: workspace.id, attempted, enriched, failed: failures.length, ...stats },
    'contact enrichment done',
  );
  return {
    status: batchStatus(attempted, failures.length),
    error: failureSummary(failures, attempted),
    costUsd,
    output: {
      contacts_processed: attempted,
      enriched,
      fields_updated: fieldsUpdated as JsonObject,
      duplicates_flagged: duplicates.flagged,
      duplicates_cleared: duplicates.cleared,
      provider: provider ? { name: provider.name, ...stats, disabled_reason: providerDisabled } : null,
      cost_usd: costUsd,
      ...failureFields(failures),
    },
  };
}

/** The workspace's settings.enrichment.default_country, else the agent's default. */
function resolveDefaultCountry(settings: JsonObject, fallback: string | null): string | null {
  const raw = asObject(settings.enrichment).default_country;
  if (raw === undefined || raw === null) return fallback;
  if (typeof raw !== 'string' || !isCountryCode(raw)) {
    throw new PermanentError(
      `settings.enrichment.default_country: ${JSON.stringify(raw)} is not an ISO 3166 alpha-2 country code (e.g. "US")`,
    );
  }
  return raw.toUpperCase();
}

/** Contacts of `ids` worth a provider lookup: real people, not duplicates, not looked up lately. */
async function contactsDueForLookup(
  db: Kysely<Database>,
  workspaceId: string,
  ids: string[],
  now: Date,
  refreshDays: number,
): Promise<Array<{ id: string; email: string }>> {
  const rows = await db
    .selectFrom('contacts')
    .select(['id', 'email', 'duplicate_of', 'enrichment'])
    .where('workspace_id', '=', workspaceId)
    .where('id', 'in', ids)
    .orderBy('id')
    .execute();
  const freshSince = now.getTime() - refreshDays * DAY_MS;
  return rows.filter((r) => {
    const facts = addressFacts(r.email);
    if (!facts || facts.isRoleAddress || r.duplicate_of !== null) return false;
    const last = asObject(asObject(r.enrichment as JsonValue).provider);
    // 'pending' (accepted, not ready) and errors are asked again; answers are kept for refreshDays.
    const answered = last.status === 'found' || last.status === 'not_found';
    const at = typeof last.looked_up_at === 'string' ? Date.parse(last.looked_up_at) : Number.NaN;
    return !(answered && at >= freshSince);
  });
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function asObject(v: JsonValue | undefined): JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};
}

function roundUsd(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
