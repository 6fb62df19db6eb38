import { z } from 'zod';
import { baseFields, rowId, workspaceId } from '../common.ts';

export const socialMediaPostingPayload = z.strictObject({
  ...baseFields,
  workspace_id: workspaceId,
  /** One post (social_posts.id) of the workspace; every post due when omitted. */
  post_id: rowId.optional(),
});
