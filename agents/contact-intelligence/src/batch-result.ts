/**
 * Item failures of a batch job and the run status they imply: some failed → partial_failure,
 * all failed → failed, none → completed. A batch never fails as a whole because of one item.
 */

/** One contact that could not be processed, and why. */
export type ItemFailure = {
  contact_id: string;
  reason: string;
};

/** At most this many failures are listed in output_data; `failed_count` always has the total. */
export const MAX_LISTED_FAILURES = 1_000;

export type BatchStatus = 'completed' | 'partial_failure' | 'failed';

/** The status of a run that attempted `attempted` items of which `failures` failed. */
export function batchStatus(attempted: number, failures: number): BatchStatus {
  if (failures === 0) return 'completed';
  return failures >= attempted ? 'failed' : 'partial_failure';
}

/** Output fields describing the failures: the count, and the first ones with their reasons. */
export function failureFields(failures: ItemFailure[]): { failed_count: number; failed: ItemFailure[] } {
  return { failed_count: failures.length, failed: failures.slice(0, MAX_LISTED_FAILURES) };
}

/** A one-line summary for error_message, naming a few failed ids. */
export function failureSummary(failures: ItemFailure[], attempted: number): string | undefined {
  if (failures.length === 0) return undefined;
  const sample = failures
    .slice(0, 3)
    .map((f) => `${f.contact_id}: ${f.reason}`)
    .join('; ');
  return `${failures.length} of ${attempted} contacts failed (${sample}${failures.length > 3 ? '; …' : ''})`;
}

/** Splits `items` into consecutive chunks of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
