import { createDb } from '@fleet/db';
import { createProducer, type Producer } from '@fleet/queues';

export interface FleetClientOptions {
  /** Redis the agents use (REDIS_URL). */
  redisUrl: string;
  /** BullMQ key prefix the agents use (QUEUE_PREFIX); default `{fleet}`. */
  prefix?: string;
  /**
   * Postgres of the audit trail, as a role that may write autonomous_tasks (e.g. a member of
   * fleet_agent). When given, each new job gets its `pending` row before it can start, and an add
   * Redis did not confirm is recorded for the reconciler. Without it the row appears when a
   * worker starts the job.
   */
  databaseUrl?: string;
}

/** A producer with its own connections; close() closes them all. */
export function createFleetClient(options: FleetClientOptions): Producer {
  const db = options.databaseUrl
    ? createDb(options.databaseUrl, { max: 2, applicationName: 'fleet-client' })
    : undefined;
  const producer = createProducer({ redis: options.redisUrl, prefix: options.prefix ?? '{fleet}', db });
  return {
    ...producer,
    async close() {
      await producer.close();
      await db?.destroy();
    },
  };
}
