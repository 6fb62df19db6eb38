/**
 * Cost of the audit write path in Postgres alone: the same batched upserts (what the task logger
 * sends) into autonomous_tasks as migrated (lean), and into a copy that still has the four seed
 * indexes migration 091 dropped. Alternating rounds; rows/s per variant and the ratio.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/audit-write-path.ts [--rows 40000] [--batch 50]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { upsertRows } from '@fleet/task-logger';
import { sql } from 'kysely';
import { type BenchDatabase, createBenchDatabase } from './support.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '40000' },
    batch: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
  },
});
const ROWS = Number(values.rows);
const BATCH = Number(values.batch);
const full = await createBenchDatabase('wp_full');
const slim = await createBenchDatabase('wp_slim');
// The seed's indexes that 091 dropped, put back on the "full" copy.
await sql`CREATE INDEX idx_autonomous_tasks_workspace_id ON autonomous_tasks (workspace_id)`.execute(full.db);
await sql`CREATE INDEX idx_autonomous_tasks_task_type ON autonomous_tasks (task_type)`.execute(full.db);
await sql`CREATE INDEX idx_autonomous_tasks_status ON autonomous_tasks (status)`.execute(full.db);
await sql`CREATE INDEX idx_autonomous_tasks_output_data ON autonomous_tasks USING GIN (output_data)`.execute(full.db);

async function round({ db, workspaceId: ws }: BenchDatabase): Promise<number> {
  const start = performance.now();
  const now = new Date();
  for (let i = 0; i < ROWS; i += BATCH) {
    await upsertRows(
      db,
      Array.from({ length: BATCH }, (_, k) => ({
        key: { queueName: 'bench_queue', jobId: randomUUID(), attempt: 1 },
        status: k % 10 === 0 ? ('failed' as const) : ('completed' as const),
        workspaceId: ws,
        taskType: 'lead_scoring_batch' as const,
        agentName: 'bench',
        triggeredBy: 'api',
        inputData: `{"workspace_id":"${ws}","i":${i + k}}`,
        outputData: '{"contacts_scored":10,"tier_changes":2}',
        errorMessage: k % 10 === 0 ? 'boom' : null,
        executedAt: now,
        createdAt: now,
        completedAt: new Date(),
        costUsd: '0.001000',
      })),
    );
  }
  return ROWS / ((performance.now() - start) / 1000);
}

const results: Record<string, number[]> = { full: [], slim: [] };
for (let r = 0; r < Number(values.rounds); r++) {
  results.full!.push(await round(full));
  results.slim!.push(await round(slim));
  console.log(
    `round ${r + 1}: with the seed's 4 extra indexes ${results.full!.at(-1)!.toFixed(0)} rows/s, lean (as migrated) ${results.slim!.at(-1)!.toFixed(0)} rows/s`,
  );
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  JSON.stringify({
    rowsPerRound: ROWS,
    batch: BATCH,
    withSeedIndexesRowsPerSec: Math.round(median(results.full!)),
    leanRowsPerSec: Math.round(median(results.slim!)),
    speedup: Number((median(results.slim!) / median(results.full!)).toFixed(2)),
  }),
);
await full.drop();
await slim.drop();
