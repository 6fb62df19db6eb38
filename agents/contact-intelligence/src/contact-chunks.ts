import type { Database } from '@fleet/db';
import type { Kysely } from 'kysely';
import { chunks } from './batch-result.ts';

/**
 * Calls `fn` with consecutive chunks of contact ids: the given ids (deduplicated, in order), or
 * every contact of the workspace by keyset pagination over ids — stable while other writers add
 * contacts, and no OFFSET scans on large workspaces.
 */
export async function forEachContactChunk(
  db: Kysely<Database>,
  workspaceId: string,
  contactIds: string[] | undefined,
  chunkSize: number,
  fn: (ids: string[]) => Promise<void>,
): Promise<void> {
  if (contactIds) {
    for (const ids of chunks([...new Set(contactIds)], chunkSize)) await fn(ids);
    return;
  }
  let after: string | null = null;
  for (;;) {
    let q = db.selectFrom('contacts').select('id').where('workspace_id', '=', workspaceId);
    if (after !== null) q = q.where('id', '>', after);
    const page = await q.orderBy('id').limit(chunkSize).execute();
    if (page.length === 0) return;
    await fn(page.map((r) => r.id));
    after = page[page.length - 1]!.id;
  }
}
