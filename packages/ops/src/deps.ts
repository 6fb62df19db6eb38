import { type AuditWriter, createAuditWriter } from '@fleet/audit-writer';
import { createDb, type Database } from '@fleet/db';
import { createProducer, createRedis, type Producer, type RedisClient, type RedisTarget } from '@fleet/queues';
import type { Telemetry } from 'bullmq';
import type { Kysely } from 'kysely';

/** What the operations need; the caller (service main, CLI command) owns and closes it. */
export interface OpsDeps {
  db: Kysely<Database>;
  /** Enqueues jobs and opens the BullMQ Queue of any catalog queue (`producer.queue(name)`). */
  producer: Producer;
  /** A producer-role connection used to publish cancel requests to the workers. */
  redis: RedisClient;
  /** BullMQ key prefix (QUEUE_PREFIX), hash-tagged like the workers'. */
  prefix: string;
  /** The audit writer: every autonomous_tasks row the operations record goes through it. */
  auditWriter: AuditWriter;
}

export interface OpenOpsOptions {
  databaseUrl: string;
  /** A redis:// URL or a cluster (RedisTarget of @fleet/config). */
  redis: RedisTarget;
  prefix: string;
  /** Postgres pool size (default 5). */
  poolMax?: number;
  applicationName?: string;
  /** Client-side cap on one Postgres round trip (default 15 s). */
  queryTimeoutMs?: number;
  /** BullMQ telemetry for the producer's queues (Tracing.bullmq of @fleet/tracing). */
  telemetry?: Telemetry;
}

/** Opens every connection the operations need. `close()` flushes the audit writer and closes all. */
export function openOps(options: OpenOpsOptions): OpsDeps & { close(): Promise<void> } {
  const db = createDb(options.databaseUrl, {
    max: options.poolMax ?? 5,
    applicationName: options.applicationName ?? 'fleet-ops',
    queryTimeoutMillis: options.queryTimeoutMs ?? 15_000,
  });
  const producer = createProducer({ redis: options.redis, prefix: options.prefix, db, telemetry: options.telemetry });
  const redis = createRedis(options.redis, 'producer');
  const auditWriter = createAuditWriter({ db });
  return {
    db,
    producer,
    redis,
    prefix: options.prefix,
    auditWriter,
    async close() {
      await auditWriter.close().catch(() => {});
      await producer.close().catch(() => {});
      redis.disconnect();
      await db.destroy();
    },
  };
}
