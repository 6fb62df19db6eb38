import { z } from 'zod';
import { baseFields, rowId, workspaceId } from '../common.ts';

export const contentCalendarSyncPayload = z.strictObject({
  ...baseFields,
  workspace_id: workspaceId,
  /** The content_calendars row (CalDAV connection) to sync; it must belong to the workspace. */
  calendar_id: rowId,
});
