/**
 * A local stand-in for the enrichment provider: speaks the Clearbit Combined wire format on
 * 127.0.0.1 and answers per address from a table the test gives it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type StubAnswer =
  | { status: 200; body: unknown }
  | { status: 202 | 404 | 422 | 500 | 503 }
  | { status: 429; retryAfter?: number }
  | { status: 'malformed' }
  /** Never answers: the client's timeout must end the request. */
  | { status: 'hang' }
  /** Answers `code` with the request's URL and headers (credentials included) in the body. */
  | { status: 'echo'; code: number };

export interface StubProvider {
  url: string;
  /** Emails asked about, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function startStubProvider(apiKey: string, answers: Record<string, StubAnswer>): Promise<StubProvider> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stub');
    if (url.pathname !== '/v2/combined/find') {
      res.writeHead(404).end();
      return;
    }
    const email = url.searchParams.get('email') ?? '';
    const answer = answers[email] ?? { status: 404 };
    if (answer.status === 'echo') {
      requests.push(email);
      const echo = { error: { type: 'echo', url: req.url, headers: req.headers } };
      res.writeHead(answer.code, { 'content-type': 'application/json' }).end(JSON.stringify(echo));
      return;
    }
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"type":"auth_required"}}');
      return;
    }
    requests.push(email);
    if (answer.status === 'hang') return;
    if (answer.status === 'malformed') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"person": ');
    } else if (answer.status === 200) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
    } else if (answer.status === 429) {
      res.writeHead(429, answer.retryAfter ? { 'retry-after': String(answer.retryAfter) } : {}).end();
    } else {
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end('{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** A Clearbit-style person/company body. */
export function personBody(p: {
  given?: string;
  family?: string;
  title?: string;
  company?: string;
  domain?: string;
  phone?: string;
}) {
  return {
    person: {
      name: { givenName: p.given ?? null, familyName: p.family ?? null, fullName: null },
      employment: { title: p.title ?? null, name: p.company ?? null, domain: p.domain ?? null },
      phone: p.phone ?? null,
    },
    company: p.company ? { name: p.company, domain: p.domain ?? null } : null,
  };
}
