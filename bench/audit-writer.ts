/**
 * The audit writer alone, without BullMQ: `concurrency` callers each record lifecycles (running,
 * then an awaited terminal row) as fast as the writer makes them durable. This is the ceiling the
 * audit path puts on a worker with that many job slots.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/audit-writer.ts [--rows 20000]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createAuditWriter } from '@fleet/audit-writer';
import { createBenchDatabase } from './support.ts';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '20000' } } });
const ROWS = Number(values.rows);
const bench = await createBenchDatabase('writer');
const { db, workspaceId: ws } = bench;
try {
  for (const concurrency of [50, 100, 200]) {
    for (const writes of [1, 2]) {
      const logger = createAuditWriter({ db, maxConcurrentWrites: writes });
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
              jobCreatedAt: new Date(),
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
  await bench.drop();
}
