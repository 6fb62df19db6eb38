import { z } from 'zod';
import { baseFields, workspaceId } from '../common.ts';

export const continuousIntelligencePayload = z.strictObject({
  ...baseFields,
  /** One workspace; every active workspace when omitted. */
  workspace_id: workspaceId.optional(),
  /** Emails per extraction batch. */
  batch_size: z.number().int().min(1).max(100).default(10),
  /** Upper bound on emails handled in one run, per workspace. */
  max_emails: z.number().int().min(1).max(10_000).default(500),
});
