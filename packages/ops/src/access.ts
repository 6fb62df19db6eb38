import { forbidden } from './errors.ts';

/**
 * Who is asking. Operators (the CLI, the admin key) see everything; an API key sees only the
 * workspaces it is scoped to, and never fleet-level rows (workspace_id NULL).
 */
export type Access = { kind: 'admin' } | { kind: 'workspaces'; workspaceIds: readonly string[] };

export const ADMIN: Access = { kind: 'admin' };

export function canSee(access: Access, workspaceId: string | null | undefined): boolean {
  if (access.kind === 'admin') return true;
  return typeof workspaceId === 'string' && access.workspaceIds.includes(workspaceId.toLowerCase());
}

/** Throws a `forbidden` error naming the workspace when `access` does not cover it. */
export function assertWorkspace(access: Access, workspaceId: string | null | undefined): void {
  if (canSee(access, workspaceId)) return;
  throw forbidden(
    workspaceId
      ? `this API key is not allowed to access workspace ${workspaceId}`
      : 'fleet-level jobs and tasks (without a workspace_id) need the admin key',
  );
}
