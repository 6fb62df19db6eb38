/**
 * The audit writer alone, without BullMQ: `concurrency` callers each record lifecycles (running,
 * then an awaited terminal row) as fast as the writer makes them durable. This is the ceiling the
 * audit path puts on a worker with that many job slots.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/audit-writer.ts [--rows 20000]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createDb, migrateToLatest } from '@fleet/db';
import { createTaskLogger } from '@fleet/task-logger';
import { sql } from 'kysely';
import pg from 'pg';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '20000' } } });
const ROWS = Number(values.rows);
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
const name = `fleet_bench_writer_${randomUUID().slice(0, 6)}`;
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const db = createDb(url.toString(), { max: 4 });
try {
  await migrateToLatest(db);
  const ws = (
    await sql<{ id: string }>`
      WITH o AS (INSERT INTO organizations (name) VALUES ('bench') RETURNING id)
      INSERT INTO workspaces (org_id, name) SELECT id, 'bench' FROM o RETURNING id`.execute(db)
  ).rows[0]!.id;
  for (const concurrency of [50, 100, 200]) {
    for (const writes of [1, 2]) {
      const logger = createTaskLogger({ db, maxConcurrentWrites: writes });
      let issued = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (issued < ROWS) {
            issued++;
            const start = {
              queueName: 'bench_queue',
              jobId: randomUUID(),
              attempt: 1,
              workspaceId: ws,
              taskType: 'system_health_check' as const,
              agentName: 'bench',
              triggeredBy: 'api',
              inputData: { workspace_id: ws },
              executedAt: new Date(),
            };
            logger.running(start);
            await logger.finish(start, { status: 'completed', outputData: {} });
          }
        }),
      );
      const perSec = ROWS / ((performance.now() - t0) / 1000);
      await logger.close();
      console.log(
        JSON.stringify({
          concurrency,
          concurrentWrites: writes,
          lifecyclesPerSec: Math.round(perSec),
          statements: logger.stats.statements,
          rowsPerStatement: Number((logger.stats.rows / logger.stats.statements).toFixed(1)),
        }),
      );
    }
  }
} finally {
  await db.destroy();
  await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
  await admin.end();
}
