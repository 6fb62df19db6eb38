/**
 * Audit overhead: the same no-op workload through raw BullMQ (no audit) and through the fleet
 * runtime (validation + full audit rows), alternating rounds in one run, on the same Redis and
 * Postgres. Reports jobs/s per round, medians and the ratio.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379 \
 *     npx tsx bench/audit-overhead.ts [--jobs 20000] [--concurrency 50] [--rounds 3]
 */
import { parseArgs } from 'node:util';
import { createRedis } from '@fleet/queues';
import { defineAgent, startAgent } from '@fleet/runtime';
import { Queue, Worker } from 'bullmq';
import { sql } from 'kysely';
import { benchPrefix, createBenchDatabase, redisUrl } from './support.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    // 0 writes every attempt's running row too (two writes per job): the design before merging
    'running-delay': { type: 'string', default: '250' },
  },
});
const JOBS = Number(values.jobs);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);
const bench = await createBenchDatabase('overhead');
const { db, workspaceId } = bench;

async function fill(prefix: string): Promise<Queue> {
  const queue = new Queue('maintenance_queue', { connection: createRedis(redisUrl, 'producer'), prefix });
  for (let i = 0; i < JOBS; i += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, JOBS - i) }, () => ({
        name: 'system_health_check',
        data: { workspace_id: workspaceId },
        opts: { removeOnComplete: true, removeOnFail: true, attempts: 3 },
      })),
    );
  }
  return queue;
}

async function drain(queue: Queue): Promise<void> {
  for (;;) {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    if (Object.values(counts).every((n) => n === 0)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function clean(queue: Queue) {
  await queue.obliterate({ force: true });
  await queue.close();
}

async function rawRound(): Promise<number> {
  const prefix = benchPrefix('raw');
  const queue = await fill(prefix);
  const start = performance.now();
  const worker = new Worker('maintenance_queue', async () => ({}), {
    connection: createRedis(redisUrl, 'worker'),
    prefix,
    concurrency: CONCURRENCY,
  });
  await drain(queue);
  const seconds = (performance.now() - start) / 1000;
  await worker.close();
  await clean(queue);
  return JOBS / seconds;
}

const noop = defineAgent({
  name: 'bench',
  queue: 'maintenance_queue',
  concurrency: CONCURRENCY,
  handlers: {
    system_health_check: async () => ({ output: {} }),
    data_cleanup: async () => ({ output: {} }),
  },
});

async function auditedRound(): Promise<number> {
  const prefix = benchPrefix('rt');
  const queue = await fill(prefix);
  const before = await sql<{ n: number }>`SELECT count(*)::int AS n FROM autonomous_tasks`.execute(db);
  const start = performance.now();
  const agent = await startAgent(noop, {
    env: {
      DATABASE_URL: bench.url,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      HTTP_PORT: '0',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
      LOG_PRETTY: 'false',
      METRICS_PROCESS: 'false',
      AUDIT_RUNNING_DELAY_MS: values['running-delay'],
    },
  });
  await drain(queue);
  const seconds = (performance.now() - start) / 1000;
  await agent.close();
  const after = await sql<{ n: number }>`SELECT count(*)::int AS n FROM autonomous_tasks`.execute(db);
  if (after.rows[0]!.n - before.rows[0]!.n !== JOBS) {
    throw new Error(`expected ${JOBS} audit rows, got ${after.rows[0]!.n - before.rows[0]!.n}`);
  }
  await clean(queue);
  return JOBS / seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const raw: number[] = [];
const audited: number[] = [];
try {
  const only = process.env.BENCH_ONLY; // 'raw' or 'audited': profile one side alone
  for (let round = 1; round <= ROUNDS; round++) {
    raw.push(only === 'audited' ? Number.NaN : await rawRound());
    audited.push(only === 'raw' ? Number.NaN : await auditedRound());
    console.log(
      `round ${round}: raw ${raw.at(-1)!.toFixed(0)} jobs/s, audited ${audited.at(-1)!.toFixed(0)} jobs/s, ratio ${(audited.at(-1)! / raw.at(-1)!).toFixed(2)}`,
    );
  }
  console.log(
    JSON.stringify({
      jobs: JOBS,
      concurrency: CONCURRENCY,
      rounds: ROUNDS,
      rawJobsPerSec: Math.round(median(raw)),
      auditedJobsPerSec: Math.round(median(audited)),
      ratio: Number((median(audited) / median(raw)).toFixed(3)),
    }),
  );
} finally {
  await bench.drop();
}
process.exit(0);
