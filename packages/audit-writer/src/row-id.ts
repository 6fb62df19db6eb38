import { createHash } from 'node:crypto';
import type { TaskKey } from './rows.ts';

/** Namespace of audit row ids (RFC 9562 name-based UUIDs); never change it. */
const NAMESPACE = Buffer.from('16cb66453eab4e2387e3167c50d74db7', 'hex');

/**
 * The autonomous_tasks.id of an attempt, derived from its identity (queue, job id, attempt) as a
 * version-5 UUID. Every writer of the attempt's row (the producer's pending row, the worker, the
 * reconciler, an operator's cancel) inserts the same id, and the worker knows it before any write,
 * so each of its log lines can carry the row id. Rows written before migration 110 keep the
 * random ids the database gave them.
 */
export function taskRowId(key: TaskKey): string {
  const hash = createHash('sha1')
    .update(NAMESPACE)
    .update(`${key.queueName}\u0000${key.jobId}\u0000${key.attempt}`)
    .digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
