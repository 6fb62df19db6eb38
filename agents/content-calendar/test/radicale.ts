/**
 * A real CalDAV server for tests: Radicale (Debian's `radicale` package) with its storage in a
 * temp dir, listening on a free port of 127.0.0.1, users in a plain htpasswd file. `client`
 * plays the other side of the sync: a calendar app writing to the server directly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

async function waitForPort(port: number, deadlineMs: number, output: () => string): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`Radicale did not listen on ${port}:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A calendar app's view of one user's calendars on the server. */
export interface CalDavClient {
  /** Creates a calendar collection; returns its URL (with a trailing slash). */
  makeCalendar(name: string): Promise<string>;
  put(url: string, ics: string): Promise<void>;
  get(url: string): Promise<string | null>;
  remove(url: string): Promise<void>;
  /** The hrefs of a collection's members. */
  members(collectionUrl: string): Promise<string[]>;
}

export interface Radicale {
  baseUrl: string;
  /** Where collections are stored (`collection-root/<user>/<calendar>/`). */
  storage: string;
  addUser(name: string, password: string): Promise<CalDavClient>;
  stop(): Promise<void>;
}

export async function startRadicale(): Promise<Radicale> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-radicale-'));
  const storage = join(dir, 'storage');
  const htpasswd = join(dir, 'users');
  const users: string[] = [];
  await writeFile(htpasswd, '');
  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn(
    'radicale',
    [
      '--config=',
      `--storage-filesystem-folder=${storage}`,
      `--server-hosts=127.0.0.1:${port}`,
      '--auth-type=htpasswd',
      `--auth-htpasswd-filename=${htpasswd}`,
      '--auth-htpasswd-encryption=plain',
      // Failed logins are delayed by default (brute-force protection); tests try wrong ones.
      '--auth-delay=0',
      '--logging-level=warning',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = once(child, 'exit');
  await Promise.race([
    waitForPort(port, 15_000, () => output),
    exited.then(([code]) => {
      throw new Error(`radicale exited with ${code} before listening:\n${output}`);
    }),
  ]);
  const baseUrl = `http://127.0.0.1:${port}`;

  return {
    baseUrl,
    storage,
    async addUser(name, password) {
      users.push(`${name}:${password}`);
      await writeFile(htpasswd, `${users.join('\n')}\n`);
      const auth = `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;
      const call = async (url: string, method: string, body?: string, headers: Record<string, string> = {}) => {
        const res = await fetch(url, { method, body, headers: { authorization: auth, ...headers } });
        const text = await res.text();
        return { status: res.status, text };
      };
      return {
        async makeCalendar(calendar) {
          const url = `${baseUrl}/${name}/${calendar}/`;
          const res = await call(url, 'MKCALENDAR');
          if (res.status !== 201) throw new Error(`MKCALENDAR ${url}: ${res.status} ${res.text}`);
          return url;
        },
        async put(url, ics) {
          const res = await call(url, 'PUT', ics, { 'content-type': 'text/calendar; charset=utf-8' });
          if (res.status !== 201 && res.status !== 204) throw new Error(`PUT ${url}: ${res.status} ${res.text}`);
        },
        async get(url) {
          const res = await call(url, 'GET');
          if (res.status === 404) return null;
          if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
          return res.text;
        },
        async remove(url) {
          const res = await call(url, 'DELETE');
          if (res.status !== 200 && res.status !== 204) throw new Error(`DELETE ${url}: ${res.status} ${res.text}`);
        },
        async members(collectionUrl) {
          const res = await call(
            collectionUrl,
            'PROPFIND',
            '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getetag/></prop></propfind>',
            { depth: '1', 'content-type': 'application/xml' },
          );
          const hrefs = [...res.text.matchAll(/<(?:\w+:)?href>([^<]+)<\/(?:\w+:)?href>/g)].map((m) => m[1]!);
          const self = new URL(collectionUrl).pathname;
          return hrefs.filter((h) => h !== self);
        },
      };
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
