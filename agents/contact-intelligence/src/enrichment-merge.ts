/**
 * Which enrichment value may replace which: the rule that keeps guesses from overwriting people.
 *
 * For each field, the best candidate is the provider's value, else the offline derivation. It is
 * written when
 *   - the field is not in `contacts.manual_fields` (a person entered it: never touched), and
 *   - the field is empty, or its current value was itself written by enrichment
 *     (`enrichment.sources[field]`) and the candidate is at least as trustworthy: a provider value
 *     replaces a derived one, a derived value never replaces a provider one.
 * A value that came from anywhere else (an import, email sync, an API client) is kept too. A
 * provider value that differs from a kept value is stored as a suggestion, so a person can review
 * it (offline guesses are not: they would only repeat what the address already shows).
 */

export const ENRICHABLE_FIELDS = [
  'first_name',
  'last_name',
  'company',
  'company_domain',
  'job_title',
  'phone',
  'phone_e164',
  'is_free_mail',
  'is_role_address',
] as const;
export type EnrichableField = (typeof ENRICHABLE_FIELDS)[number];
export type FieldValue = string | boolean;
export type FieldSource = 'derived' | 'provider';

const RANK: Record<FieldSource, number> = { derived: 1, provider: 2 };

export interface Candidate {
  value: FieldValue;
  source: FieldSource;
}

export interface Suggestion {
  value: FieldValue;
  source: FieldSource;
  /** Why it was not written: 'person-entered', or 'existing value' (from an import, sync, …). */
  kept_because: 'person-entered' | 'existing value';
}

export interface MergeInput {
  current: Record<EnrichableField, FieldValue | null>;
  manualFields: readonly string[];
  /** enrichment.sources: which fields enrichment itself wrote, and from where. */
  sources: Partial<Record<EnrichableField, FieldSource>>;
  candidates: Partial<Record<EnrichableField, Candidate[]>>;
}

export interface MergeResult {
  /** Only the fields whose value changes. */
  patch: Partial<Record<EnrichableField, FieldValue>>;
  sources: Partial<Record<EnrichableField, FieldSource>>;
  suggestions: Partial<Record<EnrichableField, Suggestion>>;
}

export function mergeEnrichment(input: MergeInput): MergeResult {
  const patch: MergeResult['patch'] = {};
  const sources: MergeResult['sources'] = { ...input.sources };
  const suggestions: MergeResult['suggestions'] = {};
  const manual = new Set(input.manualFields);

  for (const field of ENRICHABLE_FIELDS) {
    const best = pickBest(input.candidates[field] ?? []);
    if (!best) continue;
    const current = input.current[field];
    if (manual.has(field)) {
      if (current !== best.value && best.source === 'provider') {
        suggestions[field] = { ...best, kept_because: 'person-entered' };
      }
      continue;
    }
    if (current === best.value) {
      // Same value: a provider confirming a derived value upgrades its recorded source.
      if (sources[field] && RANK[best.source] > RANK[sources[field]]) sources[field] = best.source;
      continue;
    }
    const owner = sources[field];
    if (current === null || (owner !== undefined && RANK[best.source] >= RANK[owner])) {
      patch[field] = best.value;
      sources[field] = best.source;
    } else if (best.source === 'provider') {
      suggestions[field] = { ...best, kept_because: 'existing value' };
    }
  }
  return { patch, sources, suggestions };
}

function pickBest(candidates: Candidate[]): Candidate | undefined {
  let best: Candidate | undefined;
  for (const c of candidates) if (!best || RANK[c.source] > RANK[best.source]) best = c;
  return best;
}
