/**
 * Local servers speaking the wire formats the providers use, for the tests:
 *  - Mastodon: POST /api/v2/media (multipart `file`, `description`), POST /api/v1/statuses (JSON,
 *    Idempotency-Key honoured as Mastodon does: a repeated key answers the first status),
 *    GET /api/v1/accounts/verify_credentials and /api/v1/accounts/:id/statuses (HTML content);
 *  - X: POST /2/media/upload (multipart `media`), POST /2/media/metadata, POST /2/tweets (201,
 *    403 on duplicate text), GET /2/users/me and /2/users/:id/tweets.
 * Faults are queued per route: a 429 with the platform's reset header, a file refused (422 /
 * 400), an answer held back after the post was created (a timeout that did create it), or a 401
 * that quotes the token back.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 'rate_limit' | 'reject' | 'hang_after_create' | 'unauthorized_echo' | 'processing';

export interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
  idempotencyKey: string | undefined;
  fields: Record<string, string>;
  files: Array<{ field: string; name: string; type: string; size: number }>;
  json: unknown;
}

interface StoredPost {
  id: string;
  text: string;
  mediaIds: string[];
  createdAt: Date;
}

abstract class Stub {
  readonly token: string;
  readonly requests: Seen[] = [];
  readonly posts: StoredPost[] = [];
  private readonly faults = new Map<string, Fault[]>();
  private server!: Server;
  private held: ServerResponse[] = [];
  baseUrl = '';
  protected nextId = 100;

  constructor(token: string) {
    this.token = token;
  }

  /** The next answers of `route` (e.g. 'POST /api/v1/statuses') are these faults, in order. */
  fault(route: string, ...faults: Fault[]): void {
    this.faults.set(route, [...(this.faults.get(route) ?? []), ...faults]);
  }

  protected takeFault(route: string): Fault | undefined {
    return this.faults.get(route)?.shift();
  }

  count(route: string): number {
    return this.requests.filter((r) => `${r.method} ${r.path}` === route).length;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.receive(req, res).catch((error) => {
        res.writeHead(500).end(String(error));
      });
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  /** Keeps the answer back (the client times out); the work it did stays done. */
  protected hold(res: ServerResponse): void {
    this.held.push(res);
  }

  private async receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://stub');
    const seen: Seen = {
      method: req.method ?? 'GET',
      path: url.pathname,
      authorization: req.headers.authorization,
      idempotencyKey: req.headers['idempotency-key'] as string | undefined,
      fields: {},
      files: [],
      json: undefined,
    };
    const type = req.headers['content-type'] ?? '';
    const fileBytes = new Map<string, Uint8Array>();
    if (type.startsWith('multipart/form-data')) {
      const form = await new Request('http://stub', {
        method: 'POST',
        headers: { 'content-type': type },
        body,
      }).formData();
      for (const [field, value] of form.entries()) {
        if (typeof value === 'string') seen.fields[field] = value;
        else {
          seen.files.push({ field, name: value.name, type: value.type, size: value.size });
          fileBytes.set(field, new Uint8Array(await value.arrayBuffer()));
        }
      }
    } else if (type.startsWith('application/json')) {
      seen.json = JSON.parse(body.toString('utf8'));
    }
    this.requests.push(seen);
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return send(res, 401, { error: 'The access token is invalid' });
    }
    await this.route(seen, url, fileBytes, res);
  }

  protected abstract route(seen: Seen, url: URL, files: Map<string, Uint8Array>, res: ServerResponse): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

/** Files whose bytes start with "BAD" are refused by the stub platforms as unprocessable. */
function isBadFile(bytes: Uint8Array | undefined): boolean {
  return bytes !== undefined && Buffer.from(bytes.slice(0, 3)).toString() === 'BAD';
}

export class MastodonStub extends Stub {
  readonly accountId = '109';
  /** Seconds until the rate limit resets, for X-RateLimit-Reset. */
  resetInSeconds = 90;
  private readonly byKey = new Map<string, StoredPost>();
  /** Media still processing: checks left that answer 206. */
  private readonly processing = new Map<string, number>();

  protected async route(seen: Seen, _url: URL, files: Map<string, Uint8Array>, res: ServerResponse): Promise<void> {
    const route = `${seen.method} ${seen.path}`;
    const fault = this.takeFault(route);
    if (fault === 'rate_limit') {
      const reset = new Date(Date.now() + this.resetInSeconds * 1000).toISOString();
      return send(
        res,
        429,
        { error: 'Too many requests' },
        { 'x-ratelimit-limit': '300', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset },
      );
    }
    if (fault === 'unauthorized_echo') return send(res, 401, { error: `Token ${this.token} is not valid` });
    if (route === 'POST /api/v2/media') {
      if (fault === 'reject' || isBadFile(files.get('file'))) {
        return send(res, 422, { error: 'Validation failed: File could not be processed' });
      }
      const id = String(this.nextId++);
      if (fault === 'processing') {
        // Accepted, still processing: the first check answers 206, the next one 200.
        this.processing.set(id, 1);
        return send(res, 202, { id, type: 'image', url: null, description: seen.fields.description ?? null });
      }
      return send(res, 200, {
        id,
        type: 'image',
        url: `${this.baseUrl}/media/${id}`,
        description: seen.fields.description ?? null,
      });
    }
    if (route === 'POST /api/v1/statuses') {
      const body = seen.json as { status: string; media_ids?: string[] };
      const key = seen.idempotencyKey;
      let post = key ? this.byKey.get(key) : undefined;
      if (!post) {
        post = { id: String(this.nextId++), text: body.status, mediaIds: body.media_ids ?? [], createdAt: new Date() };
        this.posts.push(post);
        if (key) this.byKey.set(key, post);
      }
      if (fault === 'hang_after_create') return this.hold(res);
      return send(res, 200, this.status(post));
    }
    const media = /^\/api\/v1\/media\/(\d+)$/.exec(seen.path);
    if (seen.method === 'GET' && media) {
      const left = this.processing.get(media[1]!) ?? 0;
      this.processing.set(media[1]!, left - 1);
      return send(res, left > 0 ? 206 : 200, {
        id: media[1],
        type: 'image',
        url: left > 0 ? null : `${this.baseUrl}/media/${media[1]}`,
      });
    }
    if (route === 'GET /api/v1/accounts/verify_credentials')
      return send(res, 200, { id: this.accountId, username: 'brand' });
    if (route === `GET /api/v1/accounts/${this.accountId}/statuses`) {
      return send(
        res,
        200,
        [...this.posts].reverse().map((p) => this.status(p)),
      );
    }
    send(res, 404, { error: 'Record not found' });
  }

  private status(p: StoredPost) {
    const html = `<p>${p.text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/\n/g, '<br />')}</p>`;
    return {
      id: p.id,
      uri: `${this.baseUrl}/users/brand/statuses/${p.id}`,
      url: `${this.baseUrl}/@brand/${p.id}`,
      content: html,
      created_at: p.createdAt.toISOString(),
      media_attachments: p.mediaIds.map((id) => ({ id })),
    };
  }
}

export class XStub extends Stub {
  readonly userId = '2244994945';
  resetInSeconds = 120;

  protected async route(seen: Seen, url: URL, files: Map<string, Uint8Array>, res: ServerResponse): Promise<void> {
    const route = `${seen.method} ${seen.path}`;
    const fault = this.takeFault(route);
    if (fault === 'rate_limit') {
      const reset = String(Math.ceil(Date.now() / 1000) + this.resetInSeconds);
      return send(
        res,
        429,
        { title: 'Too Many Requests', detail: 'Too Many Requests', type: 'about:blank', status: 429 },
        { 'x-rate-limit-limit': '100', 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': reset },
      );
    }
    if (fault === 'unauthorized_echo')
      return send(res, 401, { title: 'Unauthorized', detail: `bearer ${this.token} rejected` });
    if (route === 'POST /2/media/upload') {
      if (fault === 'reject' || isBadFile(files.get('media'))) {
        return send(res, 400, {
          errors: [{ message: 'media type unrecognized' }],
          title: 'Invalid Request',
          detail: 'One or more parameters to your request was invalid.',
        });
      }
      const id = String(this.nextId++);
      return send(res, 200, { data: { id, media_key: `3_${id}`, expires_after_secs: 86400 } });
    }
    if (route === 'POST /2/media/metadata') return send(res, 200, { data: { id: (seen.json as { id: string }).id } });
    if (route === 'POST /2/tweets') {
      const body = seen.json as { text: string; media?: { media_ids: string[] } };
      if (this.posts.some((p) => p.text === body.text)) {
        return send(res, 403, {
          detail: 'You are not allowed to create a Tweet with duplicate content.',
          type: 'about:blank',
          title: 'Forbidden',
          status: 403,
        });
      }
      const post = {
        id: String(this.nextId++),
        text: body.text,
        mediaIds: body.media?.media_ids ?? [],
        createdAt: new Date(),
      };
      this.posts.push(post);
      if (fault === 'hang_after_create') return this.hold(res);
      return send(res, 201, { data: { id: post.id, text: post.text, edit_history_tweet_ids: [post.id] } });
    }
    if (route === 'GET /2/users/me')
      return send(res, 200, { data: { id: this.userId, username: 'brand', name: 'Brand' } });
    if (route === `GET /2/users/${this.userId}/tweets`) {
      const since = Date.parse(url.searchParams.get('start_time') ?? '1970-01-01T00:00:00Z');
      const data = [...this.posts]
        .reverse()
        .filter((p) => p.createdAt.getTime() >= since)
        .map((p) => ({ id: p.id, text: p.text, created_at: p.createdAt.toISOString() }));
      return send(
        res,
        200,
        data.length ? { data, meta: { result_count: data.length } } : { meta: { result_count: 0 } },
      );
    }
    send(res, 404, { title: 'Not Found Error', detail: `no route ${route}` });
  }
}

/** A server for the posts' images: path → [content type, bytes]. */
export async function startImageHost(
  files: Record<string, [string, Uint8Array]>,
): Promise<{ url(path: string): string; close(): Promise<void>; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '/');
    const file = files[req.url ?? ''];
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file[0] }).end(Buffer.from(file[1]));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (path) => `${base}${path}`,
    hits,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Minimal valid image headers (what the publisher sniffs), padded to `size` bytes. */
export function png(size = 256): Uint8Array {
  const b = new Uint8Array(size);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return b;
}
export function badImage(): Uint8Array {
  return new Uint8Array([...Buffer.from('BAD'), 0xff, 0xd8, 0xff]);
}
export function bmp(): Uint8Array {
  return new Uint8Array([0x42, 0x4d, 0, 0, 0, 0]);
}
