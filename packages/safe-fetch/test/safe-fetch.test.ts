/**
 * Outbound fetching of URLs someone else chose, against real local HTTP servers. Linux routes all
 * of 127.0.0.0/8 to loopback, so servers on 127.0.0.1, .2 and .5 stand in for "an internal
 * service" and "an allowed host"; host names are made to resolve where a case needs them by
 * injecting the resolver, as a DNS server under an attacker's control would answer.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSafeFetch, judgeAddress, type LookupAll, parseAllowlist, RefusedUrlError } from '../src/index.ts';

interface Local {
  url(path?: string): string;
  port: number;
  hits: string[];
  close(): Promise<void>;
}

/** A server on `host` answering `name` (or redirecting where `redirects` says). */
async function serve(host: string, name: string, redirects: Record<string, string> = {}, port = 0): Promise<Local> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '/');
    const location = redirects[req.url ?? '/'];
    if (location) res.writeHead(302, { location }).end();
    else res.end(name);
  });
  server.listen(port, host);
  await once(server, 'listening');
  const actual = (server.address() as AddressInfo).port;
  return {
    url: (path = '/') => `http://${host}:${actual}${path}`,
    port: actual,
    hits,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A resolver that knows only these names. */
function resolver(names: Record<string, string[]>): LookupAll & { calls: string[] } {
  const calls: string[] = [];
  const lookup = async (host: string) => {
    calls.push(host);
    const addresses = names[host];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(lookup, { calls });
}

async function refusal(promise: Promise<unknown>): Promise<RefusedUrlError> {
  const error = await promise.then(
    () => new Error('expected a refusal'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RefusedUrlError);
  return error as RefusedUrlError;
}

const VARIABLE = 'MEDIA_ALLOWED_HOSTS';
let internal: Local; // 127.0.0.1: what an attacker wants to reach
let media: Local; // 127.0.0.2: the host an allowlist opens
let other: Local; // 127.0.0.5
const servers: Local[] = [];

beforeAll(async () => {
  internal = await serve('127.0.0.1', 'internal');
  media = await serve('127.0.0.2', 'media', { '/to-internal': internal.url('/admin') });
  other = await serve('127.0.0.5', 'other');
  servers.push(internal, media, other);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe('by default (no allowlist)', () => {
  const lookup = resolver({
    'rebound.test': ['127.0.0.1'],
    'mixed.test': ['93.184.215.14', '127.0.0.1'],
    'metadata.test': ['169.254.169.254'],
  });
  const http = createSafeFetch({ allowVariable: VARIABLE, lookup });
  afterAll(() => http.close());

  it('refuses 127.0.0.1, naming the rule and the variable to change', async () => {
    const e = await refusal(http.fetch(internal.url('/admin?token=abc')));
    expect(e.rule).toBe('loopback');
    expect(e.message).toBe(
      `http://127.0.0.1:${internal.port}/admin refused: 127.0.0.1 is a loopback address (rule: loopback); ` +
        'MEDIA_ALLOWED_HOSTS opens the host names and CIDRs it lists (and then only those)',
    );
    expect(internal.hits).toEqual([]);
  });

  it('refuses localhost, as the system resolver answers it', async () => {
    const real = createSafeFetch({ allowVariable: VARIABLE });
    try {
      const e = await refusal(real.fetch(`http://localhost:${internal.port}/admin`));
      expect(e.rule).toBe('loopback');
      expect(e.message).toMatch(
        /^http:\/\/localhost:\d+\/admin refused: localhost resolves to (127\.0\.0\.1|::1), a loopback/,
      );
    } finally {
      await real.close();
    }
    expect(internal.hits).toEqual([]);
  });

  it('refuses a host name that resolves to 127.0.0.1, and one with any refused address among its answers', async () => {
    const e = await refusal(http.fetch(`http://rebound.test:${internal.port}/admin`));
    expect(e.message).toContain(`rebound.test resolves to 127.0.0.1, a loopback address (rule: loopback)`);
    expect((await refusal(http.fetch(`http://mixed.test:${internal.port}/`))).rule).toBe('loopback');
    const metadata = await refusal(http.fetch('http://metadata.test/latest/meta-data/'));
    expect(metadata.rule).toBe('linkLocal');
    expect(metadata.message).toContain('cloud metadata');
    expect(internal.hits).toEqual([]);
  });

  it.each([
    ['http://10.0.0.1/', 'private'],
    ['http://172.16.5.4/', 'private'],
    ['http://192.168.1.1/', 'private'],
    ['http://169.254.169.254/latest/meta-data/', 'linkLocal'],
    ['http://100.64.0.1/', 'carrierGradeNat'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://224.0.0.1/', 'multicast'],
    ['http://[::1]/', 'loopback'],
    ['http://[::]/', 'unspecified'],
    ['http://[fc00::1]/', 'uniqueLocal'],
    ['http://[fd12:3456::1]/', 'uniqueLocal'],
    ['http://[fe80::1]/', 'linkLocal'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[::ffff:10.0.0.1]/', 'private'],
    ['http://[::ffff:169.254.169.254]/', 'linkLocal'],
    ['http://[64:ff9b::7f00:1]/', 'rfc6052'],
    ['http://2130706433/', 'loopback'], // 127.0.0.1 written as one number
    ['http://0x7f.1/', 'loopback'],
  ])('refuses %s (%s) without connecting', async (url, rule) => {
    expect((await refusal(http.fetch(url))).rule).toBe(rule);
  });

  it('refuses a redirect to 127.0.0.1 from a host it may reach', async () => {
    // media.test is opened by name; its redirect to the loopback service is judged on its own.
    const named = createSafeFetch({
      allow: parseAllowlist(['media.test']),
      allowVariable: VARIABLE,
      lookup: resolver({ 'media.test': ['127.0.0.2'] }),
    });
    try {
      const e = await refusal(named.fetch(`http://media.test:${media.port}/to-internal`));
      expect(e.message).toMatch(
        /^http:\/\/127\.0\.0\.1:\d+\/admin \(redirect 1\) refused: 127\.0\.0\.1 is not in MEDIA_ALLOWED_HOSTS \(rule: allowlist\)/,
      );
    } finally {
      await named.close();
    }
    expect(media.hits).toContain('/to-internal');
    expect(internal.hits).toEqual([]);
  });

  it('fetches only http and https, without credentials in the URL', async () => {
    expect((await refusal(http.fetch('file:///etc/passwd'))).rule).toBe('protocol');
    expect((await refusal(http.fetch('ftp://example.com/x'))).rule).toBe('protocol');
    expect((await refusal(http.fetch('http://user:pw@example.com/'))).rule).toBe('credentials');
  });
});

describe('with an allowlist', () => {
  it('opens exactly the addresses and CIDRs it names', async () => {
    const http = createSafeFetch({ allow: parseAllowlist(['127.0.0.1']), allowVariable: VARIABLE });
    const cidr = createSafeFetch({ allow: parseAllowlist(['127.0.0.0/31']), allowVariable: VARIABLE });
    try {
      expect(await (await http.fetch(internal.url())).text()).toBe('internal');
      expect((await refusal(http.fetch(media.url('/not-named')))).rule).toBe('allowlist');
      // 127.0.0.0/31 holds .0 and .1 only.
      expect(await (await cidr.fetch(internal.url())).text()).toBe('internal');
      expect((await refusal(cidr.fetch(media.url('/not-named')))).rule).toBe('allowlist');
      expect((await refusal(cidr.fetch(other.url('/not-named')))).rule).toBe('allowlist');
    } finally {
      await Promise.all([http.close(), cidr.close()]);
    }
    expect(media.hits).not.toContain('/not-named');
    expect(other.hits).not.toContain('/not-named');
  });

  it('opens a named host at its address, and nothing else: not its address by another name, not public hosts', async () => {
    const http = createSafeFetch({
      allow: parseAllowlist(['Media.Test']),
      allowVariable: VARIABLE,
      lookup: resolver({ 'media.test': ['127.0.0.2'], 'alias.test': ['127.0.0.2'], 'public.test': ['93.184.215.14'] }),
    });
    try {
      expect(await (await http.fetch(`http://media.test:${media.port}/`)).text()).toBe('media');
      const byAddress = await refusal(http.fetch(media.url('/by-address')));
      expect(byAddress.message).toContain('127.0.0.2 is not in MEDIA_ALLOWED_HOSTS (rule: allowlist)');
      const alias = await refusal(http.fetch(`http://alias.test:${media.port}/by-alias`));
      expect(alias.message).toContain(
        'alias.test is not in MEDIA_ALLOWED_HOSTS and its address 127.0.0.2 is in none of its CIDRs',
      );
      expect((await refusal(http.fetch('http://public.test/'))).rule).toBe('allowlist');
    } finally {
      await http.close();
    }
    expect(media.hits).not.toContain('/by-address');
    expect(media.hits).not.toContain('/by-alias');
  });

  it('connects to the address it checked, so a name that answers differently the second time cannot rebind', async () => {
    // The same port on .2 (allowed) and .1 (internal): a fetch that resolved again after the
    // check would land on the internal server.
    let good: Local | undefined;
    let evil: Local | undefined;
    for (let tries = 0; !evil && tries < 20; tries++) {
      good = await serve('127.0.0.2', 'good');
      evil = await serve('127.0.0.1', 'evil', {}, good.port).catch(async () => {
        await good?.close();
        return undefined;
      });
    }
    if (!good || !evil) throw new Error('no port free on both 127.0.0.1 and 127.0.0.2');
    servers.push(good, evil);
    let answers = 0;
    const lookup: LookupAll = async () => [{ address: answers++ === 0 ? '127.0.0.2' : '127.0.0.1', family: 4 }];
    const http = createSafeFetch({ allow: parseAllowlist(['127.0.0.2']), allowVariable: VARIABLE, lookup });
    try {
      expect(await (await http.fetch(`http://flip.test:${good.port}/`)).text()).toBe('good');
      expect(answers).toBe(1);
      expect(evil.hits).toEqual([]);
    } finally {
      await http.close();
    }
  });

  it('still verifies the certificate for the host name when it connects to the checked address', async () => {
    // A test-only certificate for media.test (fixtures/media-test.*.pem, valid until 2126).
    const read = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
    const cert = read('media-test.cert.pem');
    const server = createHttpsServer({ key: read('media-test.key.pem'), cert }, (_req, res) => res.end('tls'));
    server.listen(0, '127.0.0.2');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const http = createSafeFetch({
      allow: parseAllowlist(['media.test', 'other.test']),
      allowVariable: VARIABLE,
      lookup: resolver({ 'media.test': ['127.0.0.2'], 'other.test': ['127.0.0.2'] }),
      ca: cert,
    });
    try {
      expect(await (await http.fetch(`https://media.test:${port}/`)).text()).toBe('tls');
      const wrongName = await http.fetch(`https://other.test:${port}/`).catch((e: Error) => e);
      expect((wrongName as Error & { cause?: Error }).cause?.message).toMatch(
        /other\.test.*is not in the cert's altnames/,
      );
    } finally {
      await http.close();
      server.closeAllConnections();
      server.close();
    }
  });

  it('sends a method and body to an opened host, refuses them elsewhere, and follows no redirect with a body', async () => {
    const http = createSafeFetch({ allow: parseAllowlist(['127.0.0.2']), allowVariable: VARIABLE });
    try {
      const posted = await http.fetch(media.url('/api'), { method: 'POST', body: 'hello' });
      expect(await posted.text()).toBe('media');
      expect((await refusal(http.fetch(internal.url('/api'), { method: 'POST', body: 'x' }))).rule).toBe('allowlist');
      const redirected = await http.fetch(media.url('/to-internal'), { method: 'POST', body: 'x' });
      expect(redirected.status).toBe(302);
    } finally {
      await http.close();
    }
    expect(media.hits).toContain('/api');
    expect(internal.hits).not.toContain('/api');
    expect(internal.hits).not.toContain('/admin');
  });

  it('gives up after the redirect limit', async () => {
    const loop = await serve('127.0.0.5', 'loop', { '/a': '/b', '/b': '/a' });
    servers.push(loop);
    const http = createSafeFetch({ allow: parseAllowlist(['127.0.0.5']), allowVariable: VARIABLE, maxRedirects: 3 });
    try {
      expect((await refusal(http.fetch(loop.url('/a')))).rule).toBe('redirects');
      expect(loop.hits).toEqual(['/a', '/b', '/a', '/b']);
    } finally {
      await http.close();
    }
  });

  it('sends other methods with their body, and hands their redirects back instead of replaying them', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${body}`);
        if (req.url === '/moved') res.writeHead(301, { location: '/elsewhere' }).end();
        else res.writeHead(207).end('ok');
      });
    });
    server.listen(0, '127.0.0.5');
    await once(server, 'listening');
    const base = `http://127.0.0.5:${(server.address() as AddressInfo).port}`;
    const http = createSafeFetch({ allow: parseAllowlist(['127.0.0.5']), allowVariable: VARIABLE });
    try {
      expect((await http.fetch(`${base}/cal/`, { method: 'REPORT', body: '<sync/>' })).status).toBe(207);
      expect((await http.fetch(`${base}/moved`, { method: 'PUT', body: 'BEGIN:VCALENDAR' })).status).toBe(301);
      expect(seen).toEqual(['REPORT /cal/ <sync/>', 'PUT /moved BEGIN:VCALENDAR']);
    } finally {
      await http.close();
      server.closeAllConnections();
      server.close();
    }
  });

  it('is read at start, naming every entry that is not a host name, address or CIDR', () => {
    expect(() => parseAllowlist(['media.example.com', 'bad host', '10.0.0.0/33', 'http://x'])).toThrow(
      'not a host name, address or CIDR: "bad host", "10.0.0.0/33", "http://x"',
    );
    const list = parseAllowlist([' Media.Example.COM. ', '10.1.0.0/16', '::1', '']);
    expect([...list.hosts]).toEqual(['media.example.com']);
    expect(list.ranges.map((r) => r.text)).toEqual(['10.1.0.0/16', '::1']);
  });
});

describe('judgeAddress', () => {
  it('lets public unicast addresses through and judges IPv4-mapped addresses as IPv4', () => {
    expect(judgeAddress('example.com', '93.184.215.14', undefined)).toBeNull();
    expect(judgeAddress('example.com', '2606:4700::1111', undefined)).toBeNull();
    expect(judgeAddress('x', '::ffff:8.8.8.8', undefined)).toBeNull();
    expect(judgeAddress('x', '::ffff:192.168.0.1', undefined)).toMatchObject({
      rule: 'private',
      address: '192.168.0.1',
    });
    expect(judgeAddress('x', '::ffff:10.0.0.1', parseAllowlist(['10.0.0.0/8']))).toBeNull();
  });
});
