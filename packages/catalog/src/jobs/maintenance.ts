import { z } from 'zod';
import { baseFields, workspaceId } from '../common.ts';

export const systemHealthCheckPayload = z.strictObject({
  ...baseFields,
  /**
   * Health checks are fleet-wide (operators only); a workspace id only labels the audit row, which
   * tenants still never see (rows of fleet jobs are operators' rows).
   */
  workspace_id: workspaceId.optional(),
  /** Report `running` rows older than this many minutes as stuck (default: the agent's setting). */
  stuck_running_minutes: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .optional(),
  /** Report a queue whose oldest waiting job is older than this many seconds. */
  max_wait_age_seconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .optional(),
  /** Report a queue with more waiting jobs than this. */
  max_queue_depth: z.number().int().min(1).max(1_000_000_000).optional(),
});

export const dataCleanupPayload = z.strictObject({
  ...baseFields,
  /**
   * Only this workspace's audit rows and idempotency keys; finished jobs in Redis are left alone
   * (they are not kept per workspace). Every workspace when omitted.
   */
  workspace_id: workspaceId.optional(),
  /** Delete autonomous_tasks rows older than this many days (default: the agent's setting). */
  retention_days: z.number().int().min(1).max(3650).optional(),
});
