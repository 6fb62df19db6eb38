import {
  BAD_DAYS,
  BAD_ESCAPES,
  BAD_MONTHS,
  BAD_TIMES,
  type Base,
  CONTROL,
  deepArray,
  deepObject,
  enc,
  type Operation,
  props,
  query,
  type Req,
  request,
  SQL,
  UNICODE_INVALID,
  UNICODE_VALID,
  wrongQueryValues,
  wrongValues,
} from './fuzz-cases.ts';

type Json = Record<string, unknown>;

/** What the classes need to know about the fixture. */
export interface FuzzContext {
  port: number;
  /** The request each operation's cases start from. */
  base(op: Operation): Base;
  /** The same request aimed at another workspace's data, with that other workspace's key. */
  otherWorkspace(op: Operation): Base;
  badKeys: { what: string; headers: Record<string, string> }[];
  /** A valid dashboard session cookie (for cross-site writes). */
  sessionCookie: string;
  badCookies: string[];
}

type Emit = (what: string, req: Req, inputs?: string[]) => void;

/** Body of the base request with `path` (dotted) set to `value`, or removed when value is undefined. */
function withField(body: Json | undefined, path: string[], value: unknown, remove = false): Json {
  const copy = structuredClone(body ?? {}) as Json;
  let target = copy;
  for (const key of path.slice(0, -1)) {
    target[key] ??= {};
    target = target[key] as Json;
  }
  if (remove) delete target[path.at(-1)!];
  else target[path.at(-1)!] = value;
  return copy;
}

/** Every [path, schema] of the body's fields: top level and, for enqueue, the payload's. */
function bodyFields(op: Operation): [string[], Json][] {
  const top = props(op.body?.schema);
  const out: [string[], Json][] = Object.entries(top.properties).map(([k, s]) => [[k], s]);
  const payload = top.properties.payload;
  if (payload) for (const [k, s] of Object.entries(props(payload).properties)) out.push([['payload', k], s]);
  return out;
}

const hasBody = (op: Operation) => op.method !== 'GET' && op.method !== 'DELETE';
const hasId = (op: Operation) => op.template.includes('{id}');
/** Query parameters whose values are free text: any printable value is valid there. */
const FREE_TEXT_QUERY = new Set(['job_id', 'queue']);
/** Body fields whose values are free text. */
const FREE_TEXT_BODY = new Set(['name', 'reason', 'idempotency_key']);

export const CLASSES: Record<string, (op: Operation, c: FuzzContext, emit: Emit) => void> = {
  missing(op, c, emit) {
    const b = c.base(op);
    for (const q of op.query.filter((p) => p.required)) {
      emit(`without ${q.name}`, request(op, { ...b, query: b.query.filter(([k]) => k !== q.name) }));
    }
    if (op.body?.required) {
      emit('without a body', request(op, b, { body: undefined }));
      for (const [path] of bodyFields(op)) {
        const { required } = props(
          path.length === 1 ? op.body.schema : (props(op.body.schema).properties.payload as Json),
        );
        if (!required.includes(path.at(-1)!)) continue;
        emit(`without ${path.join('.')}`, request(op, b, { body: JSON.stringify(withField(b.body, path, 0, true)) }));
      }
    }
  },

  extra(op, c, emit) {
    const b = c.base(op);
    emit('unknown query parameter', request(op, { ...b, query: [...b.query, ['colour', 'red']] }));
    if (hasBody(op)) {
      emit('unknown body field', request(op, b, { body: JSON.stringify({ ...(b.body ?? {}), unexpected: 1 }) }));
      if (b.body?.payload) {
        emit(
          'unknown payload field',
          request(op, b, { body: JSON.stringify(withField(b.body, ['payload', 'drop_table'], true)) }),
        );
      }
    }
  },

  'wrong-type'(op, c, emit) {
    const b = c.base(op);
    for (const q of op.query) {
      for (const v of wrongQueryValues(q.schema)) {
        if (v === '' && FREE_TEXT_QUERY.has(q.name) === false && q.schema.type === undefined) continue;
        emit(
          `${q.name}=${JSON.stringify(v)}`,
          request(op, { ...b, query: [...b.query.filter(([k]) => k !== q.name), [q.name, v]] }),
        );
      }
      // A parameter given twice is a list, not a string.
      emit(`${q.name} twice`, request(op, { ...b, query: [...b.query, [q.name, 'a'], [q.name, 'b']] }));
    }
    if (!hasBody(op) || !op.body) return;
    for (const v of ['x', 1, [], null, true])
      emit(`body ${JSON.stringify(v)}`, request(op, b, { body: JSON.stringify(v) }));
    for (const [path, schema] of bodyFields(op)) {
      for (const v of wrongValues(schema)) {
        if (FREE_TEXT_BODY.has(path.at(-1)!) && typeof v === 'string') continue;
        emit(
          `${path.join('.')}=${JSON.stringify(v)}`,
          request(op, b, { body: JSON.stringify(withField(b.body, path, v)) }),
        );
      }
    }
  },

  proto(op, c, emit) {
    const b = c.base(op);
    emit('__proto__ in the query', request(op, { ...b, query: [...b.query, ['__proto__', '1']] }));
    emit(
      'constructor[prototype] in the query',
      request(op, { ...b, query: [...b.query, ['constructor[prototype][admin]', '1']] }),
    );
    if (!hasBody(op)) return;
    const inner = JSON.stringify(b.body ?? {}).slice(1, -1);
    const sep = inner ? ',' : '';
    emit('__proto__ in the body', request(op, b, { body: `{"__proto__":{"admin":true}${sep}${inner}}` }));
    emit(
      'constructor.prototype in the body',
      request(op, b, { body: `{"constructor":{"prototype":{"admin":true}}${sep}${inner}}` }),
    );
    if (b.body?.payload) {
      const payload = JSON.stringify(b.body.payload).slice(1, -1);
      emit('__proto__ in the payload', request(op, b, { body: `{"payload":{"__proto__":{"x":1},${payload}}}` }));
    }
  },

  control(op, c, emit) {
    const b = c.base(op);
    for (const v of CONTROL) {
      if (hasId(op)) emit(`id ${JSON.stringify(v)}`, request(op, b, { pathValue: enc(v) }), [v]);
      for (const q of op.query) {
        emit(
          `${q.name} ${JSON.stringify(v)}`,
          request(op, { ...b, query: [...b.query.filter(([k]) => k !== q.name), [q.name, v]] }),
          [v],
        );
      }
      if (!hasBody(op)) continue;
      emit(`body key ${JSON.stringify(v)}`, request(op, b, { body: JSON.stringify({ ...(b.body ?? {}), [v]: 1 }) }), [
        v,
      ]);
      for (const [path] of bodyFields(op)) {
        emit(
          `${path.join('.')} ${JSON.stringify(v)}`,
          request(op, b, { body: JSON.stringify(withField(b.body, path, v)) }),
          [v],
        );
      }
    }
  },

  unicode(op, c, emit) {
    const b = c.base(op);
    if (hasId(op)) {
      for (const v of [...UNICODE_VALID, ...UNICODE_INVALID])
        emit(`id ${JSON.stringify(v)}`, request(op, b, { pathValue: enc(v) }), [v]);
      for (const v of BAD_ESCAPES) emit(`id ${v}`, request(op, b, { pathValue: v }), [v]);
    }
    for (const q of op.query) {
      const values = FREE_TEXT_QUERY.has(q.name) ? UNICODE_INVALID : [...UNICODE_VALID, ...UNICODE_INVALID];
      for (const v of values) {
        emit(
          `${q.name} ${JSON.stringify(v)}`,
          request(op, { ...b, query: [...b.query.filter(([k]) => k !== q.name), [q.name, v]] }),
          [v],
        );
      }
      for (const v of BAD_ESCAPES) {
        emit(
          `${q.name}=${v}`,
          request(op, b, { query: [query(b.query), `${q.name}=${v}`].filter(Boolean).join('&') }),
          [v],
        );
      }
    }
    if (!hasBody(op)) return;
    for (const [path] of bodyFields(op)) {
      const values = FREE_TEXT_BODY.has(path.at(-1)!) ? UNICODE_INVALID : [...UNICODE_VALID, ...UNICODE_INVALID];
      for (const v of values) {
        emit(
          `${path.join('.')} ${JSON.stringify(v)}`,
          request(op, b, { body: JSON.stringify(withField(b.body, path, v)) }),
          [v],
        );
      }
    }
  },

  sql(op, c, emit) {
    const b = c.base(op);
    for (const v of SQL) {
      if (hasId(op)) emit(`id ${v}`, request(op, b, { pathValue: enc(v) }), [v]);
      for (const q of op.query.filter((p) => !FREE_TEXT_QUERY.has(p.name))) {
        emit(`${q.name} ${v}`, request(op, { ...b, query: [...b.query.filter(([k]) => k !== q.name), [q.name, v]] }), [
          v,
        ]);
      }
      if (!hasBody(op)) continue;
      for (const [path] of bodyFields(op).filter(([p]) => !FREE_TEXT_BODY.has(p.at(-1)!))) {
        emit(`${path.join('.')} ${v}`, request(op, b, { body: JSON.stringify(withField(b.body, path, v)) }), [v]);
      }
    }
  },

  huge(op, c, emit) {
    const b = c.base(op);
    if (hasId(op)) {
      emit('id of 300 characters', request(op, b, { pathValue: 'a'.repeat(300) }));
      emit('id of 600 characters', request(op, b, { pathValue: 'a'.repeat(600) }));
    }
    emit('URL over 8 KiB', request(op, { ...b, query: [...b.query, ['pad', 'x'.repeat(9_000)]] }));
    if (!hasBody(op)) return;
    emit(
      'body over 1 MiB',
      request(op, b, { body: JSON.stringify({ ...(b.body ?? {}), pad: 'x'.repeat(1_100_000) }) }),
    );
    if (b.body?.payload) {
      emit(
        'payload over its queue limit',
        request(op, b, { body: JSON.stringify(withField(b.body, ['payload', 'pad'], 'x'.repeat(600_000))) }),
      );
    }
    for (const [path, schema] of bodyFields(op)) {
      if (schema.type === 'array') {
        const n = (schema.maxItems as number | undefined) ?? 50_000;
        emit(
          `${path.join('.')} with ${n + 1} items`,
          request(op, b, {
            body: JSON.stringify(
              withField(
                b.body,
                path,
                Array.from({ length: n + 1 }, (_, i) => `x${i}`),
              ),
            ),
          }),
        );
      } else if (schema.type === 'string' || schema.format) {
        emit(
          `${path.join('.')} of 100,000 characters`,
          request(op, b, { body: JSON.stringify(withField(b.body, path, 'x'.repeat(100_000))) }),
        );
      }
    }
  },

  deep(op, c, emit) {
    const b = c.base(op);
    emit('deeply nested query key', request(op, { ...b, query: [...b.query, [`a${'[x]'.repeat(500)}`, '1']] }));
    if (!hasBody(op)) return;
    for (const depth of [40, 5_000, 100_000]) {
      emit(`body nested ${depth} arrays deep`, request(op, b, { body: `{"x":${deepArray(depth)}}` }));
      emit(`body nested ${depth} objects deep`, request(op, b, { body: deepObject(depth) }));
      if (b.body?.payload)
        emit(
          `payload nested ${depth} deep`,
          request(op, b, { body: `{"payload":{"workspace_id":${deepArray(depth)}}}` }),
        );
    }
  },

  keys(op, c, emit) {
    const b = c.base(op);
    for (const k of c.badKeys) emit(k.what, request(op, b, { headers: { authorization: '', ...k.headers } }));
  },

  'other-workspace'(op, c, emit) {
    emit('another workspace’s key and data', request(op, c.otherWorkspace(op)));
  },

  cookies(op, c, emit) {
    const b = c.base(op);
    for (const cookie of c.badCookies)
      emit(`cookie ${cookie.slice(0, 40)}`, request(op, b, { headers: { authorization: '', cookie } }));
    if (hasBody(op)) {
      emit(
        'session cookie from another site',
        request(op, b, { headers: { authorization: '', cookie: c.sessionCookie, origin: 'https://evil.example' } }),
      );
      emit(
        'session cookie without an origin',
        request(op, b, { headers: { authorization: '', cookie: c.sessionCookie } }),
      );
    }
  },

  dates(op, c, emit) {
    const b = c.base(op);
    for (const q of op.query.filter((p) => p.name === 'since' || p.name === 'until')) {
      for (const v of BAD_TIMES) emit(`${q.name}=${v}`, request(op, { ...b, query: [...b.query, [q.name, v]] }), [v]);
    }
    if (op.query.some((p) => p.name === 'cursor')) {
      for (const t of [
        '2026-02-31T00:00:00.000000Z',
        '0000-01-01T00:00:00.000000Z',
        '2026-99-99T99:99:99.000000Z',
        '2026-01-01T24:00:00.000000Z',
      ]) {
        const cursor = Buffer.from(`${t}|5b1f0c8e-2f4a-4c1d-9b7e-3a2d1c0b9a8f`).toString('base64url');
        emit(`cursor at ${t}`, request(op, { ...b, query: [...b.query, ['cursor', cursor]] }));
      }
    }
    for (const [path, schema] of bodyFields(op)) {
      const name = path.at(-1)!;
      const values =
        name === 'month'
          ? BAD_MONTHS
          : schema.format === 'date-time'
            ? BAD_TIMES
            : schema.format === 'date'
              ? BAD_DAYS
              : [];
      for (const v of values)
        emit(`${path.join('.')}=${v}`, request(op, b, { body: JSON.stringify(withField(b.body, path, v)) }), [v]);
    }
  },

  'content-type'(op, c, emit) {
    if (!hasBody(op)) return;
    const b = c.base(op);
    const json = JSON.stringify(b.body ?? {});
    for (const type of [
      'text/plain',
      'application/xml',
      'multipart/form-data; boundary=x',
      'application/json; charset=utf-16',
      'image/png',
    ]) {
      emit(`content-type ${type}`, request(op, b, { body: json, headers: { 'content-type': type } }));
    }
    emit('truncated JSON', request(op, b, { body: json.slice(0, -1) }));
    emit('empty JSON body', request(op, b, { body: '' }));
    emit('JSON with a trailing comma', request(op, b, { body: `${json.slice(0, -1)},}` }));
    emit(
      'form body',
      request(op, b, {
        body: 'payload=x&__proto__=y',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
    );
  },

  http(op, c, emit) {
    const b = c.base(op);
    const r = request(op, b);
    const target = `${r.path}${r.query ? `?${r.query}` : ''}`;
    const head = (extra: string) =>
      `${op.method} ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${b.key}\r\n${extra}Connection: close\r\n\r\n`;
    emit('NUL in a header', { ...r, raw: head('X-Note: a\u0000b\r\n') });
    emit('headers over 16 KiB', { ...r, raw: head(`X-Pad: ${'x'.repeat(20_000)}\r\n`) });
    emit('URL over 16 KiB', {
      ...r,
      raw: `${op.method} ${target}${r.query ? '&' : '?'}pad=${'x'.repeat(17_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    });
    emit('unknown HTTP version', { ...r, raw: head('').replace('HTTP/1.1', 'HTTP/9.9') });
    emit('space in a header name', { ...r, raw: head('Bad Header: x\r\n') });
    emit('two content lengths', { ...r, raw: head('Content-Length: 1\r\nContent-Length: 2\r\n') });
    emit('bad chunked encoding', {
      ...r,
      raw: head('Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n').replace(
        /\r\n\r\n$/,
        '\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
      ),
    });
    emit('raw bytes over 0x7f in the path', { ...r, raw: head('').replace(target, `${r.path}\xff\xfe`) });
    emit('Idempotency-Key with a control character', { ...r, raw: head('Idempotency-Key: a\u0001b\r\n') });
  },
};
