import { createHash, randomUUID } from 'node:crypto';
import { PayloadValidationError, type Trigger, UnknownJobError, validatePayload } from '@fleet/catalog';
import { EnqueueUnconfirmedError } from '@fleet/queues';
import { sql } from 'kysely';
import { type Access, ADMIN, authorizeEnqueue } from './access.ts';
import type { OpsDeps } from './deps.ts';
import { conflict, invalidInput, OpsError } from './errors.ts';

export interface EnqueueJobRequest {
  queue: string;
  job: string;
  payload: unknown;
  /** Run no earlier than this many milliseconds from now. */
  delayMs?: number;
  /** 1 (highest) .. 2,097,152. */
  priority?: number;
  /**
   * A repeated key (from the same principal) returns the job of the first request and never adds
   * a second one; the same key with a different request is a conflict.
   */
  idempotencyKey?: string;
  /** Who sends it, for idempotency scoping: 'admin', an API key id, 'cli'... Default 'admin'. */
  principal?: string;
  /**
   * How long an idempotency key holds (IDEMPOTENCY_KEY_TTL_HOURS; default 24 h). An older key is
   * expired: the next request with it is a new request. data_cleanup deletes expired keys.
   */
  idempotencyTtlMs?: number;
  triggeredBy?: Trigger;
}

export interface EnqueueJobResult {
  queue: string;
  job: string;
  jobId: string;
  /** False when an idempotency key returned the job of an earlier request. */
  created: boolean;
}

const MAX_DELAY_MS = 365 * 24 * 3600 * 1000;
/** Default lifetime of an idempotency key. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
const MAX_PRIORITY = 2_097_152;

/** JSON with sorted object keys, so equal requests hash equally whatever their key order. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .sort()
    .filter((k) => obj[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`)
    .join(',')}}`;
}

/** Maps the catalog's validation errors to ops errors (oversized payloads get their own kind). */
export function toOpsError(error: unknown): unknown {
  if (error instanceof UnknownJobError) return new OpsError('not_found', error.message);
  if (error instanceof PayloadValidationError) {
    const tooLarge = error.problems.some((p) => p.field === '(payload)' && /bytes; the limit/.test(p.message));
    return new OpsError(tooLarge ? 'payload_too_large' : 'invalid_input', error.message, error.problems);
  }
  return error;
}

/**
 * Validates and enqueues one job (writing its `pending` audit row through the producer).
 * Access: authorizeEnqueue (fleet jobs are operators'; a workspace job needs access to the
 * workspace its payload names).
 *
 * When Redis does not confirm the add (EnqueueUnconfirmedError), an idempotency key is kept with
 * the job id it was given: repeating the request returns that job (whose pending row the
 * reconciler confirms or fails) instead of adding a second one.
 */
export async function enqueueJob(
  deps: OpsDeps,
  req: EnqueueJobRequest,
  access: Access = ADMIN,
): Promise<EnqueueJobResult> {
  const fields = [];
  if (req.delayMs !== undefined && (!Number.isInteger(req.delayMs) || req.delayMs < 0 || req.delayMs > MAX_DELAY_MS)) {
    fields.push({ field: 'delay_ms', message: `must be a whole number of milliseconds between 0 and ${MAX_DELAY_MS}` });
  }
  if (
    req.priority !== undefined &&
    (!Number.isInteger(req.priority) || req.priority < 1 || req.priority > MAX_PRIORITY)
  ) {
    fields.push({ field: 'priority', message: `must be a whole number between 1 (highest) and ${MAX_PRIORITY}` });
  }
  if (req.idempotencyKey !== undefined && !/^[\x21-\x7e]{1,200}$/.test(req.idempotencyKey)) {
    fields.push({ field: 'idempotency_key', message: 'must be 1-200 printable ASCII characters without spaces' });
  }
  if (fields.length > 0) {
    throw invalidInput(`invalid job options: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}`, fields);
  }

  let payload: Record<string, unknown>;
  try {
    payload = validatePayload(req.queue, req.job, req.payload).payload as Record<string, unknown>;
  } catch (error) {
    throw toOpsError(error);
  }
  const workspaceId = typeof payload.workspace_id === 'string' ? payload.workspace_id : null;
  authorizeEnqueue(access, req.queue, req.job, payload);

  const options = {
    delay: req.delayMs,
    priority: req.priority,
    triggeredBy: req.triggeredBy ?? 'api',
  };
  const add = (jobId?: string) =>
    deps.producer
      .enqueueRaw(req.queue, req.job, req.payload, { ...options, ...(jobId ? { jobId, jobIdIsNew: true } : {}) })
      .catch((e) => {
        throw toOpsError(e);
      });

  if (req.idempotencyKey === undefined) {
    const r = await add();
    return { queue: req.queue, job: req.job, jobId: r.jobId, created: r.created };
  }

  const principal = req.principal ?? 'admin';
  const requestHash = createHash('sha256')
    .update(canonical({ q: req.queue, j: req.job, p: req.payload, d: req.delayMs, pr: req.priority }))
    .digest('hex');
  const jobId = randomUUID();
  const key = req.idempotencyKey;
  const ttlMs = req.idempotencyTtlMs ?? IDEMPOTENCY_TTL_MS;
  let unconfirmed: EnqueueUnconfirmedError | null = null;
  // The key row is inserted in a transaction that stays open until the job is in Redis and its
  // pending row is written. A concurrent request with the same key blocks on the unique index
  // until then, and so always answers with a complete first task; if the first request fails,
  // its row is rolled back and the waiting request enqueues instead.
  // An expired key is claimed anew: the upsert replaces its row only when it is older than ttlMs.
  const result = await deps.db.transaction().execute(async (trx) => {
    const claimed = await trx
      .insertInto('idempotency_keys')
      .values({
        principal,
        key,
        request_hash: requestHash,
        queue_name: req.queue,
        job_name: req.job,
        job_id: jobId,
        workspace_id: workspaceId,
      })
      .onConflict((oc) =>
        oc
          .columns(['principal', 'key'])
          .doUpdateSet((eb) => ({
            request_hash: eb.ref('excluded.request_hash'),
            queue_name: eb.ref('excluded.queue_name'),
            job_name: eb.ref('excluded.job_name'),
            job_id: eb.ref('excluded.job_id'),
            workspace_id: eb.ref('excluded.workspace_id'),
            created_at: sql<Date>`now()`,
          }))
          .where('idempotency_keys.created_at', '<', sql<Date>`now() - make_interval(secs => ${ttlMs / 1000})`),
      )
      .returning('job_id')
      .executeTakeFirst();
    if (claimed) {
      // The job id is the one recorded with the key, so even a replayed add cannot create a twin.
      try {
        const r = await add(jobId);
        return { queue: req.queue, job: req.job, jobId: r.jobId, created: r.created };
      } catch (error) {
        // Keep the key (commit) and answer with the error after the commit.
        if (!(error instanceof EnqueueUnconfirmedError)) throw error;
        unconfirmed = error;
        return null;
      }
    }
    const first = await trx
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('principal', '=', principal)
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
    if (first.request_hash !== requestHash) {
      throw conflict(
        `idempotency key "${key}" was already used for a different request (job ${first.job_id} on ${first.queue_name}); use a new key`,
      );
    }
    return { queue: first.queue_name, job: first.job_name, jobId: first.job_id, created: false };
  });
  if (unconfirmed) throw unconfirmed;
  return result!;
}
