import { z } from 'zod';
import { baseFields, rowId, workspaceId } from '../common.ts';

export const leadScoringBatchPayload = z.strictObject({
  ...baseFields,
  workspace_id: workspaceId,
  /** Score only these contacts; all contacts of the workspace when omitted. */
  contact_ids: z.array(rowId).min(1).max(10_000).optional(),
});

export const contactEnrichmentPayload = z.strictObject({
  ...baseFields,
  workspace_id: workspaceId,
  contact_ids: z.array(rowId).min(1).max(10_000).optional(),
});
