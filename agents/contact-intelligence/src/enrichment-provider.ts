/**
 * External person/company lookups behind one interface, so the enrichment job does not care who
 * answers. Errors are per lookup: one contact's failure never stops the others, except an
 * authentication failure, which would fail every lookup the same way.
 */

/** What a provider knows about the person behind an address. Every field is optional. */
export interface ProviderPerson {
  firstName?: string | null;
  lastName?: string | null;
  jobTitle?: string | null;
  company?: string | null;
  companyDomain?: string | null;
  phone?: string | null;
}

export type LookupResult =
  | { status: 'found'; person: ProviderPerson }
  | { status: 'not_found' }
  /** Accepted but not ready yet (asynchronous lookup): ask again on a later run. */
  | { status: 'pending' };

export interface EnrichmentProvider {
  /** Recorded with every value it supplies, e.g. 'http'. */
  readonly name: string;
  /** USD billed per lookup that finds a person; 0 for free providers. */
  readonly costPerMatchUsd: number;
  lookup(email: string, signal?: AbortSignal): Promise<LookupResult>;
}

/** One lookup failed; `reason` is safe to store (no secrets, no response bodies). */
export class ProviderError extends Error {
  override name = 'ProviderError';
  constructor(
    readonly reason: string,
    /** Every further lookup would fail the same way (bad credentials, account suspended). */
    readonly fatal = false,
  ) {
    super(reason);
  }
}
