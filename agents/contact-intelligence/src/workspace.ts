import type { Database, JsonObject } from '@fleet/db';
import { PermanentError } from '@fleet/runtime';
import type { Kysely } from 'kysely';

export interface WorkspaceInfo {
  id: string;
  settings: JsonObject;
}

/** The workspace a job names; a missing one is a permanent failure (retrying cannot create it). */
export async function loadWorkspace(db: Kysely<Database>, workspaceId: string): Promise<WorkspaceInfo> {
  const row = await db
    .selectFrom('workspaces')
    .select(['id', 'settings'])
    .where('id', '=', workspaceId)
    .executeTakeFirst();
  if (!row) throw new PermanentError(`workspace_id ${workspaceId}: no such workspace`);
  return row;
}
