import type { Database, MediaFile } from '@fleet/db';
import { type Kysely, sql } from 'kysely';
import type { StitchedTranscript } from './chunking.ts';

/** Reads a media file of a workspace; undefined when there is none (or it is another workspace's). */
export async function findMediaFile(
  db: Kysely<Database>,
  workspaceId: string,
  mediaFileId: string,
): Promise<MediaFile | undefined> {
  return db
    .selectFrom('media_files')
    .selectAll()
    .where('id', '=', mediaFileId)
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirst();
}

/** Marks a file as being transcribed and clears an earlier attempt's error. */
export async function markProcessing(db: Kysely<Database>, mediaFileId: string): Promise<void> {
  await db
    .updateTable('media_files')
    .set({ status: 'processing', error_message: null, updated_at: sql`now()` })
    .where('id', '=', mediaFileId)
    .execute();
}

/** What probing learned about the file, saved before the (long) transcription starts. */
export async function recordProbe(
  db: Kysely<Database>,
  mediaFileId: string,
  probe: { sizeBytes: number; mimeType: string; durationSeconds: number },
): Promise<void> {
  await db
    .updateTable('media_files')
    .set({
      size_bytes: probe.sizeBytes,
      mime_type: probe.mimeType,
      duration_seconds: probe.durationSeconds.toFixed(3),
      updated_at: sql`now()`,
    })
    .where('id', '=', mediaFileId)
    .execute();
}

export interface TranscriptToSave extends StitchedTranscript {
  workspaceId: string;
  mediaFileId: string;
  durationSeconds: number;
  model: string;
  chunkCount: number;
  costUsd: number;
}

/**
 * Stores the transcript (replacing an earlier one of the same file) and marks the file
 * transcribed, in one transaction so a file is never `transcribed` without its transcript.
 */
export async function saveTranscript(db: Kysely<Database>, t: TranscriptToSave): Promise<string> {
  return db.transaction().execute(async (trx) => {
    const row = {
      workspace_id: t.workspaceId,
      media_file_id: t.mediaFileId,
      text: t.text,
      language: t.language,
      segments: JSON.stringify(t.segments),
      duration_seconds: t.durationSeconds.toFixed(3),
      model: t.model,
      chunk_count: t.chunkCount,
      cost_usd: t.costUsd.toFixed(6),
    };
    const { id } = await trx
      .insertInto('media_transcripts')
      .values(row)
      .onConflict((oc) =>
        oc.column('media_file_id').doUpdateSet({
          text: row.text,
          language: row.language,
          segments: row.segments,
          duration_seconds: row.duration_seconds,
          model: row.model,
          chunk_count: row.chunk_count,
          cost_usd: row.cost_usd,
          updated_at: sql`now()`,
        }),
      )
      .returning('id')
      .executeTakeFirstOrThrow();
    await trx
      .updateTable('media_files')
      .set({
        status: 'transcribed',
        error_message: null,
        duration_seconds: row.duration_seconds,
        updated_at: sql`now()`,
      })
      .where('id', '=', t.mediaFileId)
      .execute();
    return id;
  });
}

/**
 * Records why a file could not be transcribed. `status` is 'failed' for a definitive failure and
 * 'uploaded' when the file may be queued again (a cancelled job).
 */
export async function markFailed(
  db: Kysely<Database>,
  mediaFileId: string,
  message: string,
  status: 'failed' | 'uploaded' = 'failed',
): Promise<void> {
  await db
    .updateTable('media_files')
    .set({ status, error_message: message.slice(0, 2000), updated_at: sql`now()` })
    .where('id', '=', mediaFileId)
    .execute();
}
