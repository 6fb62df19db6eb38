import { z } from 'zod';
import { baseFields, workspaceId } from '../common.ts';

export const systemHealthCheckPayload = z.strictObject({
  ...baseFields,
  /** Health checks are fleet-wide; a workspace id only labels the audit row. */
  workspace_id: workspaceId.optional(),
});

export const dataCleanupPayload = z.strictObject({
  ...baseFields,
  workspace_id: workspaceId.optional(),
  /** Delete autonomous_tasks rows older than this many days. */
  retention_days: z.number().int().min(1).max(3650).optional(),
});
