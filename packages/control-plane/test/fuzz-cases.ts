/**
 * Hostile requests for every operation of the OpenAPI document, by class of bad input. Each case
 * is a request that must be refused (4xx) without side effects; the fuzz test sends them.
 */
type Json = Record<string, unknown>;

export interface Operation {
  id: string;
  /** Needs no key (`security: []`): the probes and the document. */
  public: boolean;
  method: string;
  /** Path template, e.g. /v1/tasks/{id}. */
  template: string;
  query: { name: string; required: boolean; schema: Json }[];
  body?: { required: boolean; schema: Json };
}

/** What a request is made of; `path` and `query` are already percent-encoded. */
export interface Req {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  /** JSON text (or other text with its own content-type header); undefined: no body. */
  body?: string;
  /** Raw bytes instead of an HTTP client's request (header-level cases). */
  raw?: string;
}

export interface Case {
  op: string;
  cls: string;
  what: string;
  req: Req;
  /** Strings the request carries, removed from the answer before it is scanned for leaks. */
  inputs: string[];
}

/** Reads the operations of an OpenAPI document. */
export function operations(doc: Json): Operation[] {
  const out: Operation[] = [];
  for (const [template, item] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(item)) {
      const params = (op.parameters ?? []) as { name: string; in: string; required?: boolean; schema: Json }[];
      const content = (op.requestBody as Json | undefined)?.content as Record<string, { schema: Json }> | undefined;
      out.push({
        id: String(op.operationId),
        public: Array.isArray(op.security) && op.security.length === 0,
        method: method.toUpperCase(),
        template,
        query: params
          .filter((p) => p.in === 'query')
          .map((p) => ({ name: p.name, required: Boolean(p.required), schema: p.schema })),
        body: content
          ? { required: Boolean((op.requestBody as Json).required), schema: content['application/json']!.schema }
          : undefined,
      });
    }
  }
  return out;
}

/** The request each case starts from: valid, or refused for a reason of its own (e.g. 404). */
export interface Base {
  key: string;
  pathParams: Record<string, string>;
  query: [string, string][];
  body?: Json;
}

/** Percent-encodes `v`; lone surrogates (which encodeURIComponent refuses) as the invalid UTF-8 they would be. */
const enc = (v: string) =>
  Array.from(v)
    .map((c) =>
      /^[\ud800-\udbff]$/.test(c) ? '%ED%A0%80' : /^[\udc00-\udfff]$/.test(c) ? '%ED%B0%80' : encodeURIComponent(c),
    )
    .join('');
const query = (pairs: [string, string][]) => pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');

export function request(op: Operation, base: Base, change: Partial<Req> & { pathValue?: string } = {}): Req {
  const params: Record<string, string> = {
    ...base.pathParams,
    ...(change.pathValue !== undefined ? { id: change.pathValue } : {}),
  };
  // pathValue is sent as given (already encoded, or deliberately not).
  const path = op.template.replace(/\{(\w+)\}/g, (_, name: string) =>
    change.pathValue !== undefined && name === 'id' ? change.pathValue : enc(params[name] ?? ''),
  );
  const headers: Record<string, string> = { authorization: `Bearer ${base.key}`, ...change.headers };
  const body = 'body' in change ? change.body : base.body === undefined ? undefined : JSON.stringify(base.body);
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
    headers['content-type'] = 'application/json';
  }
  for (const [k, v] of Object.entries(headers)) if (v === '') delete headers[k];
  return { method: op.method, path, query: change.query ?? query(base.query), headers, body, raw: change.raw };
}

export { enc, query };

/** Properties of an object schema: `{ name: schema }`, and which are required. */
export function props(schema: Json | undefined): { properties: Record<string, Json>; required: string[] } {
  return {
    properties: (schema?.properties ?? {}) as Record<string, Json>,
    required: (schema?.required ?? []) as string[],
  };
}

/** Values of the wrong type (or out of range) for a JSON Schema. */
export function wrongValues(schema: Json): unknown[] {
  const type = schema.type ?? (schema.enum ? 'string' : schema.anyOf ? 'string' : undefined);
  switch (type) {
    case 'integer':
    case 'number':
      return ['1', true, null, [], {}, 1.5, -1e12, 1e15];
    case 'array':
      return ['x', {}, 1, null, [123], [[]]];
    case 'object':
      return ['x', 1, [], null, true];
    case 'boolean':
      return ['true', 1, null];
    default: {
      const values: unknown[] = [1, true, null, [], {}];
      if (schema.format === 'uuid') values.push('not-a-uuid', '5b1f0c8e-2f4a-4c1d-9b7e-3a2d1c0b9a8');
      if (schema.enum) values.push('nope');
      if (schema.format === 'date' || schema.pattern) values.push('2026-13-45');
      return values;
    }
  }
}

/** Query values a parameter of this schema refuses. */
export function wrongQueryValues(schema: Json): string[] {
  const type = schema.type ?? (schema.enum ? 'string' : undefined);
  if (type === 'integer' || type === 'number') return ['abc', '1.5', '-5', '99999999999999999999', '', '0x10'];
  if (schema.format === 'uuid') return ['nope', '', '00000000-0000-0000-0000-00000000000g'];
  if (schema.enum) return ['nope', ''];
  return [''];
}

export const CONTROL = ['\u0000', 'a\u0000b', '\u0001', '\u001b[2J', '\u007f', '\u0008x'];
export const UNICODE_INVALID = ['\ud800', 'a\udfffb'];
export const UNICODE_VALID = ['😀', 'ünïcødé', '\u202egnp.exe', 'ｗｏｒｋｓｐａｃｅ', 'e\u0301', '\ufeff', '\uffff'];
export const BAD_ESCAPES = ['%E0%A4%A', '%C0%AF', '%FF%FE', '%ED%A0%80', '%'];
export const SQL = [
  "' OR '1'='1",
  '1; DROP TABLE autonomous_tasks; --',
  "' UNION SELECT key_hash FROM api_keys --",
  "%' OR job_id LIKE '%",
  "\\'; SELECT pg_sleep(10); --",
  '$1::text',
  "') OR ('x'='x",
];
export const BAD_TIMES = [
  '-271821-04-20T00:00:00Z',
  '+275760-09-13T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '1969-12-31T23:59:59Z',
  '10000-01-01T00:00:00Z',
  '2026-02-31T00:00:00Z',
  '2026-01-01T25:00:00Z',
  '1e999',
  'yesterday',
];
export const BAD_DAYS = ['1969-12-31', '0000-01-01', '2026-02-30', '9999-99-99', '0001-01-01'];
export const BAD_MONTHS = ['1969-12', '0000-01', '2026-13'];

/** Nested arrays `depth` deep, as JSON text. */
export const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
/** Nested objects `depth` deep, as JSON text. */
export const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
