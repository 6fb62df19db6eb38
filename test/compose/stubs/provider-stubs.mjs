// Local stand-ins for the providers the fleet calls, for `npm run test:compose`. Plain Node
// (no dependencies), run in a container of the fleet image on the compose project's network:
//   Google OAuth   POST /token                              (refresh-token grant)
//   Gmail          GET  /gmail/v1/users/me/{profile,messages,messages/:id,history}
//   OpenAI         POST /v1/audio/transcriptions             (multipart upload, verbose_json)
//   media files    GET  /media/short.wav, /media/long.wav    (generated sine-wave WAVs)
// Each checks the credentials the fleet must send (from this container's environment), so a
// passing round trip also proves the right secrets reached the right agent. A transcription of
// audio at least SLOW_AUDIO_SECONDS long is answered after STUB_SLOW_TRANSCRIPTION_MS, so the
// test can stop the fleet while one is in flight. On SIGTERM the server finishes the requests in
// flight, then exits.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const CLIENT_ID = env('STUB_GOOGLE_CLIENT_ID');
const CLIENT_SECRET = env('STUB_GOOGLE_CLIENT_SECRET');
const REFRESH_TOKEN = env('STUB_REFRESH_TOKEN');
const TRANSCRIPTION_KEY = env('STUB_TRANSCRIPTION_API_KEY');
const SLOW_MS = Number(process.env.STUB_SLOW_TRANSCRIPTION_MS ?? 8000);
const SLOW_AUDIO_SECONDS = 2;
const PORT = Number(process.env.STUB_PORT ?? 8080);

// ---- media ------------------------------------------------------------------------------------
/** A 16 kHz mono 16-bit PCM WAV of a 440 Hz tone. */
function wav(seconds) {
  const rate = 16_000;
  const samples = rate * seconds;
  const out = Buffer.alloc(44 + samples * 2);
  out.write('RIFF', 0);
  out.writeUInt32LE(36 + samples * 2, 4);
  out.write('WAVEfmt ', 8);
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(1, 22); // mono
  out.writeUInt32LE(rate, 24);
  out.writeUInt32LE(rate * 2, 28); // byte rate
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36);
  out.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) {
    out.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / rate) * 8000), 44 + i * 2);
  }
  return out;
}
const MEDIA = { '/media/short.wav': wav(1), '/media/long.wav': wav(3) };

/** Seconds of audio in the first WAV found in a (multipart) body, or 0. */
function wavSeconds(body) {
  const at = body.indexOf('RIFF');
  if (at < 0 || body.toString('latin1', at + 8, at + 12) !== 'WAVE') return 0;
  const byteRate = body.readUInt32LE(at + 28);
  const data = body.indexOf('data', at + 12);
  return data < 0 || byteRate === 0 ? 0 : body.readUInt32LE(data + 4) / byteRate;
}

// ---- Gmail ------------------------------------------------------------------------------------
const b64url = (text) => Buffer.from(text).toString('base64url');
const now = Date.now();
const MAILBOX = [
  {
    id: 'stub-m1',
    from: 'Ada Lovelace <ada@example.com>',
    subject: 'Pricing for 50 seats',
    minutesAgo: 90,
    text: 'Hi, could you send us a quote for 50 seats by Friday? We would like to start next month.',
  },
  {
    id: 'stub-m2',
    from: 'Grace Hopper <grace@example.org>',
    subject: 'Outage this morning',
    minutesAgo: 60,
    text: 'Our team could not log in this morning. This is urgent, please call me back today.',
  },
  {
    id: 'stub-m3',
    from: 'Alan Turing <alan@example.net>',
    subject: 'Thanks!',
    minutesAgo: 30,
    text: 'Thanks for the demo yesterday, it was great. Let us talk again next week.',
  },
].map((m, i) => {
  const sentAt = now - m.minutesAgo * 60_000;
  return {
    id: m.id,
    threadId: m.id,
    labelIds: ['INBOX'],
    snippet: m.text.slice(0, 80),
    historyId: String(1001 + i),
    internalDate: String(sentAt),
    payload: {
      partId: '',
      mimeType: 'text/plain',
      headers: [
        { name: 'From', value: m.from },
        { name: 'To', value: 'sales@acme.test' },
        { name: 'Subject', value: m.subject },
        { name: 'Date', value: new Date(sentAt).toUTCString() },
        { name: 'Message-ID', value: `<${m.id}@example.com>` },
        { name: 'Content-Type', value: 'text/plain; charset="UTF-8"' },
      ],
      body: { size: m.text.length, data: b64url(m.text) },
    },
  };
});
const HISTORY_ID = String(1000 + MAILBOX.length);
const accessTokens = new Set();

// ---- server -----------------------------------------------------------------------------------
const json = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const readBody = async (req) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function handle(req, res) {
  const url = new URL(req.url ?? '/', 'http://stubs');
  const path = url.pathname;
  if (req.method === 'GET' && path === '/healthz') return json(res, 200, { status: 'ok' });
  if (req.method === 'GET' && MEDIA[path]) {
    res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': MEDIA[path].length });
    return res.end(MEDIA[path]);
  }
  if (req.method === 'POST' && path === '/token') {
    const form = new URLSearchParams((await readBody(req)).toString());
    if (form.get('client_id') !== CLIENT_ID || form.get('client_secret') !== CLIENT_SECRET) {
      return json(res, 401, { error: 'invalid_client' });
    }
    if (form.get('grant_type') !== 'refresh_token' || form.get('refresh_token') !== REFRESH_TOKEN) {
      return json(res, 400, { error: 'invalid_grant' });
    }
    const token = `ya29.stub-${randomBytes(8).toString('hex')}`;
    accessTokens.add(token);
    return json(res, 200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
  }
  if (path.startsWith('/gmail/v1/users/me')) {
    const auth = req.headers.authorization ?? '';
    if (!accessTokens.has(auth.replace(/^Bearer /, ''))) {
      return json(res, 401, { error: { code: 401, status: 'UNAUTHENTICATED', message: 'Invalid Credentials' } });
    }
    const rest = path.slice('/gmail/v1/users/me'.length);
    if (rest === '/profile') {
      return json(res, 200, { emailAddress: 'sales@acme.test', messagesTotal: MAILBOX.length, historyId: HISTORY_ID });
    }
    if (rest === '/messages') {
      const after = Number(/after:(\d+)/.exec(url.searchParams.get('q') ?? '')?.[1] ?? 0) * 1000;
      const size = Number(url.searchParams.get('maxResults') ?? 100);
      const offset = Number(url.searchParams.get('pageToken') ?? 0);
      const all = MAILBOX.filter((m) => Number(m.internalDate) > after).sort((a, b) => b.internalDate - a.internalDate);
      const page = all.slice(offset, offset + size);
      return json(res, 200, {
        messages: page.map((m) => ({ id: m.id, threadId: m.threadId })),
        ...(offset + size < all.length ? { nextPageToken: String(offset + size) } : {}),
        resultSizeEstimate: all.length,
      });
    }
    if (rest === '/history') return json(res, 200, { history: [], historyId: HISTORY_ID });
    const message = MAILBOX.find((m) => rest === `/messages/${m.id}`);
    if (message) return json(res, 200, message);
    return json(res, 404, { error: { code: 404, message: 'Requested entity was not found.' } });
  }
  // An empty CalDAV calendar: the full listing of a first sync (PROPFIND Depth 1) finds no events.
  if (req.method === 'PROPFIND' && path === '/caldav/content/') {
    await readBody(req);
    res.writeHead(207, { 'content-type': 'application/xml; charset=utf-8' });
    return res.end(
      `<?xml version="1.0" encoding="utf-8"?><d:multistatus xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/">` +
        `<d:response><d:href>/caldav/content/</d:href><d:propstat><d:prop>` +
        `<d:sync-token>stub-sync-token-1</d:sync-token><cs:getctag>"ctag-1"</cs:getctag>` +
        `<d:resourcetype><d:collection/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>` +
        `</d:multistatus>`,
    );
  }
  if (req.method === 'POST' && path === '/v1/audio/transcriptions') {
    if (req.headers.authorization !== `Bearer ${TRANSCRIPTION_KEY}`) {
      return json(res, 401, { error: { message: 'Incorrect API key provided' } });
    }
    const seconds = wavSeconds(await readBody(req));
    if (seconds === 0) return json(res, 400, { error: { message: 'no WAV audio in the upload' } });
    if (seconds >= SLOW_AUDIO_SECONDS) await sleep(SLOW_MS);
    const text = `Stub transcript of ${seconds.toFixed(1)} seconds of audio.`;
    return json(res, 200, {
      text,
      language: 'en',
      duration: seconds,
      segments: [{ id: 0, start: 0, end: seconds, text }],
    });
  }
  return json(res, 404, { error: { message: `no stub for ${req.method} ${path}` } });
}

const server = createServer((req, res) => {
  handle(req, res).catch((error) => json(res, 500, { error: { message: String(error) } }));
});
server.listen(PORT, '0.0.0.0', () => console.log(`provider stubs listening on :${PORT}`));
process.on('SIGTERM', () => {
  console.log('SIGTERM: finishing the requests in flight');
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
