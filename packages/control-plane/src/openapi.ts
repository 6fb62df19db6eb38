import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { createJsonSchemaTransform, createJsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { errorSchema } from './api-schemas.ts';
import { MAX_URL_LENGTH } from './http-errors.ts';

/**
 * Routes that are browser UI, not API: the dashboard's HTML pages and bull-board (whose routes
 * its plugin defines). They are left out of the document; every other route is in it (a test
 * checks this against fastify's own route table).
 */
export function isBrowserUi(url: string): boolean {
  return url === '/' || url === '/favicon.ico' || url.startsWith('/dashboard') || url.startsWith('/admin/queues');
}

type Json = Record<string, unknown>;

const fromZod = createJsonSchemaTransform({ skipList: [] });
const componentsFromZod = createJsonSchemaTransformObject({});

/**
 * Drops component schemas nothing refers to: schemas with an `id` get an input and an output
 * variant, and most are used in one direction only.
 */
function withoutUnusedSchemas(doc: Json): Json {
  const components = doc.components as { schemas?: Record<string, unknown> } | undefined;
  const schemas = components?.schemas ?? {};
  const refs = (value: unknown) =>
    [...JSON.stringify(value).matchAll(/"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
  const used = new Set<string>();
  const todo = refs(doc.paths);
  while (todo.length) {
    const name = todo.pop()!;
    if (used.has(name)) continue;
    used.add(name);
    todo.push(...refs(schemas[name] ?? null));
  }
  const kept = Object.fromEntries(Object.entries(schemas).filter(([name]) => used.has(name)));
  return { ...doc, components: { ...components, schemas: kept } };
}

/**
 * Registers @fastify/swagger: the OpenAPI document is generated from the schemas each route
 * declares (zod, converted by fastify-type-provider-zod). Must be registered before the routes.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Agent fleet control plane',
        version: '1.0.0',
        description:
          'Enqueue agent jobs and read their audit trail (autonomous_tasks). Every error is ' +
          '`{ error: { code, message, fields? } }`; a URL longer than ' +
          `${MAX_URL_LENGTH} characters gets 414.`,
        license: { name: 'UNLICENSED', url: 'https://docs.npmjs.com/cli/v11/configuring-npm/package-json#license' },
      },
      servers: [{ url: '/', description: 'The control plane that served this document.' }],
      security: [{ bearer: [] }, { apiKey: [] }],
      tags: [
        { name: 'jobs', description: 'Enqueue a job of the catalog: one operation per job type.' },
        { name: 'tasks', description: 'Audit rows and their jobs: read, cancel, retry.' },
        { name: 'figures', description: 'Summaries, dashboard figures and queue counts.' },
        { name: 'api-keys', description: 'Admin: workspace-scoped API keys.' },
        { name: 'service', description: 'Probes and this document; no key needed.' },
      ],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An API key as a bearer token.' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key.' },
        },
      },
    },
    transform: (doc) => (isBrowserUi(doc.url) ? { schema: { hide: true } as never, url: doc.url } : fromZod(doc)),
    transformObject: (doc) => withoutUnusedSchemas(componentsFromZod(doc) as Json),
  });
}

/** `responses` entries for error statuses, each in the `{ error: { code, message } }` shape. */
export function errors(statuses: Record<number, string>) {
  return Object.fromEntries(
    Object.entries(statuses).map(([status, description]) => [
      status,
      { description, content: { 'application/json': { schema: errorSchema } } },
    ]),
  );
}

/** A JSON response entry with a description. */
export function ok(description: string, schema: z.ZodType) {
  return { description, content: { 'application/json': { schema } } };
}

/** Errors every /v1 operation can answer. */
export const COMMON_ERRORS = {
  400: 'Invalid input; `error.fields` lists every bad field.',
  401: 'Missing, unknown or revoked API key.',
  414: 'The URL is too long.',
  429: 'Rate limited; retry after the `retry-after` header.',
} as const;
