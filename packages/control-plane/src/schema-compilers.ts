import type { FastifyBaseLogger, FastifySchemaCompiler } from 'fastify';
import type { FastifySerializerCompiler } from 'fastify/types/schema.js';
import type { z } from 'zod';
import { HttpError } from './http-errors.ts';

/** The value at `path` in `data` (zod does not report it unless asked to). */
function valueAt(data: unknown, path: PropertyKey[]): unknown {
  let value = data;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** A refused request body as the API answers it: 400 naming every bad field. */
export function bodyError(error: z.ZodError, body: unknown): HttpError {
  const fields = error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => ({ field: k, message: 'is not a known field; remove it' }))
      : [
          {
            field: i.path.map(String).join('.') || '(body)',
            message: i.code === 'invalid_type' && valueAt(body, i.path) === undefined ? 'is required' : i.message,
          },
        ],
  );
  return new HttpError(
    400,
    'invalid_input',
    `invalid request body: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}`,
    fields,
  );
}

/**
 * Schemas a route shows in the document that differ from what fastify validates: an enqueue
 * route documents its job's payload, but only the envelope is checked here. The payload is
 * validated by @fleet/ops after the access and size checks, with the catalog's messages and field
 * names relative to the payload (the same for the CLI and the API).
 */
const validatedAs = new WeakMap<z.ZodType, z.ZodType>();

export function documentedAs<S extends z.ZodType>(validated: z.ZodType, documented: S): S {
  validatedAs.set(documented, validated);
  return documented;
}

/**
 * Validates request bodies with the route's zod schema. Query strings, path parameters and
 * headers pass through unchanged: their schemas are the ones @fleet/ops parses them with (shared
 * with the CLI and the dashboard), so the route declares them for the document and ops answers
 * with the same messages everywhere.
 */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  if (httpPart !== 'body') return (data) => ({ value: data });
  const checked = validatedAs.get(schema) ?? schema;
  return (data) => {
    const r = checked.safeParse(data ?? undefined);
    return r.success ? { value: r.data } : { error: bodyError(r.error, data) };
  };
};

/**
 * Serialises responses with JSON.stringify and checks what a client receives against the
 * documented schema. A mismatch is logged (it is a documentation bug), never turned into a
 * failed request: the operation has already happened.
 */
export function serializerCompiler(log: FastifyBaseLogger): FastifySerializerCompiler<z.ZodType> {
  return ({ schema, method, url, httpStatus }) =>
    (data) => {
      const text = JSON.stringify(data);
      const r = schema.safeParse(text === undefined ? undefined : JSON.parse(text));
      if (!r.success) {
        log.error(
          { method, route: url, status: httpStatus, issues: r.error.issues.slice(0, 5) },
          'response does not match its documented schema',
        );
      }
      return text;
    };
}
