import { z } from 'zod';
import { baseFields, isoDateTime, rowId, workspaceId } from '../common.ts';

export const emailSyncPayload = z.strictObject({
  ...baseFields,
  workspace_id: workspaceId,
  account_id: rowId,
  /** Only fetch mail after this instant when doing a full sync (ISO 8601). */
  since: isoDateTime.optional(),
});
