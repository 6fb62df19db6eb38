import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends `request` byte for byte on a fresh TCP connection and reads one response. For what an
 * HTTP client library refuses to send: NUL in headers, oversized headers, broken request lines.
 * Resolves with status 0 when the server closes without answering.
 */
export function rawRequest(port: number, request: string | Buffer, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${String(request).slice(0, 80)}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve(parse(Buffer.concat(chunks)));
    };
    socket.on('connect', () => socket.end(request));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', done);
    socket.on('error', () => done());
    socket.on('close', done);
  });
}

function parse(data: Buffer): RawResponse {
  const text = data.toString('utf8');
  const head = text.indexOf('\r\n\r\n');
  if (!text.startsWith('HTTP/1.1 ') || head < 0) return { status: 0, headers: {}, body: text };
  const [statusLine, ...lines] = text.slice(0, head).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = text.slice(head + 4);
  if (headers['transfer-encoding'] === 'chunked') {
    let out = '';
    let rest = body;
    for (;;) {
      const nl = rest.indexOf('\r\n');
      const size = Number.parseInt(rest.slice(0, nl), 16);
      if (!size) break;
      out += rest.slice(nl + 2, nl + 2 + size);
      rest = rest.slice(nl + 2 + size + 2);
    }
    body = out;
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body };
}
