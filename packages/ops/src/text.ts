/**
 * Text the fleet refuses from outside, wherever it arrives (ids, filters, bodies, CLI flags):
 * NUL and the other C0 control characters, DEL, and lone UTF-16 surrogates. Postgres refuses NUL
 * in text and jsonb and lone surrogates in jsonb, and none of them has a use in an id or a
 * payload; refusing them up front turns what would be a database error into a 400 that names
 * the field. Tab, line feed and carriage return are allowed in bodies (free text such as a
 * cancel reason), never in ids or query parameters.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL_IN_ID = /[\u0000-\u001f\u007f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
/** Deepest nesting of objects and arrays accepted in a request body. */
export const MAX_DEPTH = 32;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `text` is refused, or null when it is fine. `kind` 'id' also refuses tab and newlines. */
export function textProblem(text: string, kind: 'id' | 'text' = 'text'): string | null {
  const control = (kind === 'id' ? CONTROL_IN_ID : CONTROL_IN_TEXT).exec(text);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return `must not contain control characters (found U+${code} at position ${control.index})`;
  }
  if (LONE_SURROGATE.test(text)) return 'must be valid Unicode (found a lone surrogate)';
  return null;
}

/** The first bad string anywhere in a JSON-like value (keys included), with its dotted path. */
export function findTextProblem(
  value: unknown,
  path: string,
  kind: 'id' | 'text' = 'text',
  depth = 0,
): { field: string; message: string } | null {
  if (typeof value === 'string') {
    const problem = textProblem(value, kind);
    return problem ? { field: path || '(body)', message: problem } : null;
  }
  if (value === null || typeof value !== 'object') return null;
  // No request has a use for deep nesting, and recursive code further on (JSON.stringify, schema
  // checks) would overflow the stack on a megabyte of brackets.
  if (depth >= MAX_DEPTH) return { field: path || '(body)', message: `is nested more than ${MAX_DEPTH} levels deep` };
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  for (const [key, item] of entries) {
    const field = path ? `${path}.${key}` : key;
    const keyProblem = textProblem(key, 'id');
    if (keyProblem) return { field, message: `(the name) ${keyProblem}` };
    const found = findTextProblem(item, field, kind, depth + 1);
    if (found) return found;
  }
  return null;
}
