/**
 * A local server speaking the Anthropic Messages API wire format (POST /v1/messages), for tests.
 * Each request is recorded; responses come from a queue of scripted replies, then a default.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubRequest {
  headers: IncomingHttpHeaders;
  body: {
    model: string;
    max_tokens: number;
    system?: unknown;
    messages: { role: string; content: string }[];
    output_config?: { format?: { type: string; schema: unknown } };
  };
}

export interface StubReply {
  status?: number;
  headers?: Record<string, string>;
  body: unknown;
}

export interface StubUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

/** A successful Messages API response carrying `text`. */
export function messageReply(
  text: string,
  usage: StubUsage,
  model = 'claude-haiku-4-5',
  stopReason = 'end_turn',
): StubReply {
  return {
    body: {
      id: `msg_${Math.random().toString(36).slice(2, 14)}`,
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'text', text }],
      stop_reason: stopReason,
      stop_sequence: null,
      usage: {
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        cache_creation_input_tokens: usage.cache_creation_input_tokens ?? 0,
        cache_read_input_tokens: usage.cache_read_input_tokens ?? 0,
        cache_creation: null,
        server_tool_use: null,
        service_tier: 'standard',
      },
    },
  };
}

/** An API error in the real shape, e.g. 529 overloaded_error. */
export function errorReply(
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
): StubReply {
  return { status, headers, body: { type: 'error', error: { type, message } } };
}

export interface AnthropicStub {
  url: string;
  requests: StubRequest[];
  /** Replies used in order, one per request, before `fallback`. */
  script: Array<StubReply | ((req: StubRequest) => StubReply)>;
  fallback: (req: StubRequest) => StubReply;
  close(): Promise<void>;
}

export async function startAnthropicStub(fallback: (req: StubRequest) => StubReply): Promise<AnthropicStub> {
  const stub: AnthropicStub = { url: '', requests: [], script: [], fallback, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/messages') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: `no route ${req.url}` } }));
        return;
      }
      const request: StubRequest = { headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
      stub.requests.push(request);
      const next = stub.script.shift() ?? stub.fallback;
      const reply = typeof next === 'function' ? next(request) : next;
      res.writeHead(reply.status ?? 200, {
        'content-type': 'application/json',
        'request-id': 'req_stub',
        ...reply.headers,
      });
      res.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return stub;
}

/** A valid insight as the model would return it. */
export function insightJson(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    intent: 'meeting_request',
    intents: ['meeting_request'],
    sentiment: 'positive',
    sentiment_score: 0.6,
    urgency: 'medium',
    action_items: [{ description: 'Send a calendar invite', owner: 'us', due_date: '2026-03-17' }],
    mentioned_dates: [{ text: 'next Tuesday at 2pm', date: '2026-03-17', time: '14:00' }],
    people: [{ name: 'Sarah Chen', email: 'sarah.chen@acme-robotics.com', role: 'VP Operations' }],
    companies: [{ name: 'Acme Robotics', domain: 'acme-robotics.com' }],
    ...overrides,
  });
}
