import { findJob, type JobScope, jobsOf, QUEUE_NAMES } from '@fleet/catalog';
import type { TaskType } from '@fleet/db';
import { forbidden } from './errors.ts';

/**
 * The authorization rules of the fleet, in one place (docs/security.md). The HTTP API, the
 * dashboard, bull-board, the CLI and every enqueue through @fleet/ops decide with these
 * functions and nothing else.
 *
 * Two kinds of caller:
 * - operators (`admin`): the admin key and its dashboard sessions, the CLI, services holding the
 *   Redis or database credentials. They see and may do everything.
 * - tenants (`workspaces`): a workspace-scoped API key and its dashboard sessions. They see the
 *   rows of workspace-scoped jobs in their workspaces, and enqueue workspace-scoped jobs for
 *   their workspaces; nothing fleet-wide.
 */
export type Access = { kind: 'admin' } | { kind: 'workspaces'; workspaceIds: readonly string[] };

export const ADMIN: Access = { kind: 'admin' };

export function isAdmin(access: Access): boolean {
  return access.kind === 'admin';
}

/** Throws `forbidden` unless `access` is an operator's; `what` says what was asked for. */
export function assertAdmin(access: Access, what: string): void {
  if (!isAdmin(access)) throw forbidden(`${what} needs the admin key`);
}

/** Whether `access` covers `workspaceId` (an operator's covers every workspace and none). */
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

/** The scope of every task type, from the catalog (each task type belongs to one job). */
const SCOPE_OF_TASK_TYPE = new Map<string, JobScope>(
  QUEUE_NAMES.flatMap((q) => jobsOf(q).map(([, j]) => [j.taskType, j.scope] as const)),
);

/**
 * Task types whose rows a tenant may see: those of workspace-scoped jobs. Rows of fleet jobs are
 * operators' rows even when an operator labelled one with a workspace (a health check's output
 * holds fleet-wide figures).
 */
export const TENANT_TASK_TYPES: readonly TaskType[] = [...SCOPE_OF_TASK_TYPE]
  .filter(([, scope]) => scope === 'workspace')
  .map(([type]) => type as TaskType);

/** Whether `access` may see an audit row (or a job) of `taskType` in `workspaceId`. */
export function canSeeTask(
  access: Access,
  row: { workspace_id: string | null | undefined; task_type: string | null | undefined },
): boolean {
  if (access.kind === 'admin') return true;
  return canSee(access, row.workspace_id) && SCOPE_OF_TASK_TYPE.get(row.task_type ?? '') === 'workspace';
}

/**
 * Whether `access` may enqueue `queue`/`job` with `payload` (already validated against the
 * catalog): fleet jobs are operators' only; a workspace job needs access to the workspace its
 * payload names, and one without a workspace (a run over every workspace) is an operator's.
 * Throws `forbidden` naming what is missing.
 */
export function authorizeEnqueue(access: Access, queue: string, job: string, payload: unknown): void {
  if (access.kind === 'admin') return;
  const def = findJob(queue, job);
  if (def?.scope !== 'workspace') {
    throw forbidden(`${queue}/${job} is a fleet job: it needs the admin key`);
  }
  const data = (payload ?? {}) as Record<string, unknown>;
  const workspaceId = typeof data.workspace_id === 'string' ? data.workspace_id : null;
  if (workspaceId === null) {
    throw forbidden(`${queue}/${job} without a workspace_id runs for every workspace: it needs the admin key`);
  }
  assertWorkspace(access, workspaceId);
}
