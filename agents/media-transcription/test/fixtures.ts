import { once } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseBuffer } from 'music-metadata';

/** A PCM WAV file of a 440 Hz tone, `seconds` long; 16-bit unless told otherwise. */
export function makeWav(opts: {
  seconds: number;
  sampleRate?: number;
  channels?: number;
  bits?: 8 | 16;
  /** [from, to) seconds of digital silence inside the tone (pauses). */
  silences?: [number, number][];
}): Buffer {
  const sampleRate = opts.sampleRate ?? 8000;
  const channels = opts.channels ?? 1;
  const bits = opts.bits ?? 16;
  const bytesPerSample = bits / 8;
  const frames = Math.round(opts.seconds * sampleRate);
  const data = Buffer.alloc(frames * channels * bytesPerSample);
  for (let f = 0; f < frames; f++) {
    const t = f / sampleRate;
    const silent = opts.silences?.some(([from, to]) => t >= from && t < to) ?? false;
    const v = silent ? 0 : Math.sin((2 * Math.PI * 440 * f) / sampleRate);
    for (let c = 0; c < channels; c++) {
      const at = (f * channels + c) * bytesPerSample;
      if (bits === 16) data.writeInt16LE(Math.round(v * 12000), at);
      else data.writeUInt8(128 + Math.round(v * 100), at);
    }
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * bytesPerSample, 28);
  header.writeUInt16LE(channels * bytesPerSample, 32);
  header.writeUInt16LE(bits, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/**
 * An MP3 stream of `frames` silent MPEG-1 Layer III frames (128 kbps, 44.1 kHz): valid headers,
 * so a parser finds 1152 samples per frame (26.1 ms).
 */
export function makeMp3(frames: number): Buffer {
  const frame = Buffer.alloc(417);
  frame.writeUInt32BE(0xfffb9004, 0);
  return Buffer.concat(Array.from({ length: frames }, () => frame));
}

/** What the stub saw of one transcription request. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Text fields of the multipart body, repeated names kept in order. */
  fields: [string, string][];
  file?: { name: string; type: string; bytes: Buffer };
  /** Duration of the uploaded audio as music-metadata reads it. */
  audioSeconds?: number;
}

export type StubReply = (req: SeenRequest) => { status?: number; headers?: Record<string, string>; body: unknown };

/**
 * An OpenAI-compatible transcription server on 127.0.0.1: parses each multipart upload (with the
 * same FormData parser fetch uses) and answers with `reply`, by default a verbose_json transcript
 * with one segment per started 2 seconds of the uploaded audio.
 */
export async function startTranscriptionStub(reply: StubReply = verboseReply) {
  const requests: SeenRequest[] = [];
  /** Requests whose upload began; for cancellation tests. */
  const started: IncomingMessage[] = [];
  let hold: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server: Server = createServer(async (req, res) => {
    started.push(req);
    if (hold) {
      hold(req, res);
      return;
    }
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      const seen: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, fields: [] };
      if (String(req.headers['content-type']).startsWith('multipart/form-data')) {
        const form = await new Request('http://stub/', {
          method: 'POST',
          headers: { 'content-type': String(req.headers['content-type']) },
          body,
        }).formData();
        for (const [name, value] of form) {
          if (typeof value === 'string') seen.fields.push([name, value]);
          else {
            const bytes = Buffer.from(await value.arrayBuffer());
            seen.file = { name: value.name, type: value.type, bytes };
            const meta = await parseBuffer(bytes, { mimeType: value.type }, { duration: true }).catch(() => undefined);
            seen.audioSeconds = meta?.format.duration;
          }
        }
      }
      requests.push(seen);
      const out = reply(seen);
      res.writeHead(out.status ?? 200, { 'content-type': 'application/json', ...(out.headers ?? {}) });
      res.end(typeof out.body === 'string' ? out.body : JSON.stringify(out.body));
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    started,
    /** Takes over new requests (e.g. to read slowly and never answer). */
    holdRequests(fn: ((req: IncomingMessage, res: ServerResponse) => void) | undefined) {
      hold = fn;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A verbose_json transcript of the uploaded audio: a segment per started 2 s, text `seg N`. */
export const verboseReply: StubReply = (req) => {
  const duration = req.audioSeconds ?? 0;
  const segments = [];
  for (let start = 0, i = 0; start < duration; start += 2, i++) {
    segments.push({ id: i, start, end: Math.min(start + 2, duration), text: ` seg ${i}` });
  }
  return {
    body: {
      task: 'transcribe',
      language: 'english',
      duration,
      text: segments.map((s) => s.text).join(''),
      segments,
    },
  };
};

/** A static file server on 127.0.0.1 for http(s) sources. */
export async function startFileServer(
  files: Record<string, Buffer>,
  opts: { omitLength?: boolean; host?: string; redirects?: Record<string, string> } = {},
) {
  const host = opts.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const location = opts.redirects?.[path];
    if (location) {
      res.writeHead(302, { location }).end();
      return;
    }
    const file = files[path];
    if (!file) {
      res.writeHead(404).end('not found');
      return;
    }
    if (opts.omitLength) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' });
      // Two writes so the body really streams without a length.
      res.write(file.subarray(0, Math.floor(file.length / 2)));
      res.end(file.subarray(Math.floor(file.length / 2)));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(file.length) });
    res.end(file);
  });
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: (path: string) => `http://${host}:${port}${path}`,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A 16-bit mono AIFF file of silence (a format the transcription APIs do not take). */
export function makeAiff(seconds: number, sampleRate = 8000): Buffer {
  const frames = seconds * sampleRate;
  const comm = Buffer.alloc(8 + 18);
  comm.write('COMM', 0, 'ascii');
  comm.writeUInt32BE(18, 4);
  comm.writeUInt16BE(1, 8);
  comm.writeUInt32BE(frames, 10);
  comm.writeUInt16BE(16, 14);
  // Sample rate as an 80-bit IEEE extended float: exponent, then the mantissa with its top bit set.
  const exp = Math.floor(Math.log2(sampleRate));
  comm.writeUInt16BE(16383 + exp, 16);
  comm.writeBigUInt64BE(BigInt(sampleRate) << BigInt(63 - exp), 18);
  const ssnd = Buffer.alloc(16 + frames * 2);
  ssnd.write('SSND', 0, 'ascii');
  ssnd.writeUInt32BE(8 + frames * 2, 4);
  const form = Buffer.alloc(12);
  form.write('FORM', 0, 'ascii');
  form.writeUInt32BE(4 + comm.length + ssnd.length, 4);
  form.write('AIFF', 8, 'ascii');
  return Buffer.concat([form, comm, ssnd]);
}

/** The error a promise rejects with; fails the test when it resolves instead. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}
