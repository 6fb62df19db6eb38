/**
 * For process-mode tests that need a job which runs until the test says so: an OpenAI-compatible
 * transcription server that holds every upload until `answer()` is called, and a media file for
 * the media-transcription agent to upload.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Database } from '@fleet/db';
import type { Kysely } from 'kysely';

export interface HeldUpload {
  at: number;
  respond(): void;
}

export async function startHeldTranscriptionServer() {
  const uploads: HeldUpload[] = [];
  const open = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      open.add(res);
      res.once('close', () => open.delete(res));
      uploads.push({
        at: Date.now(),
        respond() {
          if (res.writableEnded || res.destroyed) return;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              text: 'hello',
              language: 'english',
              duration: 1,
              segments: [{ id: 0, start: 0, end: 1, text: 'hello' }],
            }),
          );
        },
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    uploads,
    /** Answers every upload held so far. */
    answerAll() {
      for (const u of uploads) u.respond();
    },
    async close() {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** One second of silence as 8 kHz 16-bit mono WAV. */
export function silentWav(): Buffer {
  const data = Buffer.alloc(16_000);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(16_000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/** A media_files row whose file lives in `mediaRoot`; returns its id. */
export async function createMediaFile(db: Kysely<Database>, workspaceId: string, mediaRoot: string): Promise<string> {
  const name = `${randomUUID()}.wav`;
  await writeFile(join(mediaRoot, name), silentWav());
  const row = await db
    .insertInto('media_files')
    .values({ workspace_id: workspaceId, source: name, file_name: name })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}
