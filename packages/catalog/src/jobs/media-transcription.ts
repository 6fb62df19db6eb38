import { z } from 'zod';
import { baseFields, rowId, workspaceId } from '../common.ts';

export const mediaTranscriptionPayload = z.strictObject({
  ...baseFields,
  workspace_id: workspaceId,
  media_file_id: rowId,
  /** ISO-639-1 hint for the transcription model. */
  language: z
    .string()
    .regex(/^[a-z]{2}$/, 'must be a two-letter ISO-639-1 code')
    .optional(),
});
