/**
 * The comparison a user would make: the same no-op workload (jobs pre-filled, one consuming
 * process tree, concurrency 50) through
 *   - raw:       raw BullMQ on Redis, no audit (the baseline);
 *   - audited:   the fleet runtime at its default settings (startAgent: payload validation, a child
 *                logger, metrics, one durable audit row per attempt before the acknowledgement);
 *   - pgboss:    pg-boss `work()` with its job rows kept (completed rows stay in pgboss.job);
 *   - bullmq-pg: BullMQ's own Postgres backend (`withBackend(createPostgresBackend)`), completed
 *                jobs kept as rows.
 * Rounds alternate between the paths; medians per path; jobs/s, the ratio to raw BullMQ, CPU per
 * job split into worker (this process) / Postgres backends / Redis (bench/cpu-sampler.ts), the
 * cores busy, and the load average at start and end.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379 \
 *     npx tsx bench/audit-overhead.ts [--jobs 20000] [--pg-jobs 5000] [--rounds 3] [--concurrency 50] \
 *       [--paths raw,audited,pgboss,bullmq-pg] [--pgboss-workers 50] [--pgboss-batch 100]
 */
import { parseArgs } from 'node:util';
import { createRedis } from '@fleet/queues';
import { defineAgent, startAgent } from '@fleet/runtime';
import { createPostgresBackend, Queue, Worker, withBackend } from 'bullmq';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { type CpuPerJob, type CpuSampler, cpuPerJob, createCpuSampler } from './cpu-sampler.ts';
import { benchPrefix, createBenchDatabase, machine, median, redisUrl, sleep } from './support.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    // BullMQ's Postgres backend runs ~1,000 jobs/s here: fewer jobs keep the run short.
    'pg-jobs': { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    paths: { type: 'string', default: 'raw,audited,pgboss,bullmq-pg' },
    // work() fetches a batch, runs the handler, completes the batch, then sleeps until its polling
    // interval (0.5 s at least) is over: its rate is workers × batch / 0.5 s at most.
    'pgboss-workers': { type: 'string', default: '50' },
    'pgboss-batch': { type: 'string', default: '100' },
  },
});
const JOBS = Number(values.jobs);
const PG_JOBS = Number(values['pg-jobs']);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);
const PATHS = values.paths.split(',') as PathName[];
const PGBOSS_WORKERS = Number(values['pgboss-workers']);
const PGBOSS_BATCH = Number(values['pgboss-batch']);

type PathName = 'raw' | 'audited' | 'pgboss' | 'bullmq-pg';
interface RoundResult extends CpuPerJob {
  jobsPerSec: number;
  loadavg: number;
}

const atStart = machine();
const bench = await createBenchDatabase('overhead');
const { workspaceId } = bench;
const monitor = new pg.Client({ connectionString: bench.url });
await monitor.connect();
const redis = createRedis(redisUrl, 'producer');
const sampler: CpuSampler = createCpuSampler({ monitor, database: bench.name, redis });
const data = { workspace_id: workspaceId };

/**
 * Times one round: `consume` starts consuming, resolves when every job is done and returns how
 * to stop; the second snapshot is taken before that, while the round's backends still exist.
 */
async function measure(jobs: number, consume: () => Promise<() => Promise<unknown>>): Promise<RoundResult> {
  const before = await sampler.snapshot();
  const close = await consume();
  const after = await sampler.snapshot();
  await close();
  return {
    jobsPerSec: Math.round(jobs / ((after.at - before.at) / 1000)),
    ...cpuPerJob(before, after, jobs),
    loadavg: machine().loadavg[0]!,
  };
}

async function fillRedis(prefix: string): Promise<Queue> {
  const queue = new Queue('maintenance_queue', { connection: createRedis(redisUrl, 'producer'), prefix });
  for (let i = 0; i < JOBS; i += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, JOBS - i) }, () => ({
        name: 'system_health_check',
        data,
        opts: { removeOnComplete: true, removeOnFail: true, attempts: 3 },
      })),
    );
  }
  return queue;
}

async function drainRedis(queue: Queue): Promise<void> {
  for (;;) {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    if (Object.values(counts).every((n) => n === 0)) return;
    await sleep(20);
  }
}

async function rawRound(): Promise<RoundResult> {
  const prefix = benchPrefix('raw');
  const queue = await fillRedis(prefix);
  const result = await measure(JOBS, async () => {
    const worker = new Worker('maintenance_queue', async () => ({}), {
      connection: createRedis(redisUrl, 'worker'),
      prefix,
      concurrency: CONCURRENCY,
    });
    await drainRedis(queue);
    return () => worker.close();
  });
  await queue.obliterate({ force: true });
  await queue.close();
  return result;
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

async function auditRows(): Promise<number> {
  const { rows } = await monitor.query<{ n: number }>('SELECT count(*)::int AS n FROM autonomous_tasks');
  return rows[0]!.n;
}

async function auditedRound(): Promise<RoundResult> {
  const prefix = benchPrefix('rt');
  const queue = await fillRedis(prefix);
  const rowsBefore = await auditRows();
  const result = await measure(JOBS, async () => {
    const agent = await startAgent(noop, {
      env: {
        DATABASE_URL: bench.url,
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: prefix,
        HTTP_PORT: '0',
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
        LOG_PRETTY: 'false',
        METRICS_PROCESS: 'false',
      },
    });
    await drainRedis(queue);
    return () => agent.close();
  });
  const written = (await auditRows()) - rowsBefore;
  if (written !== JOBS) throw new Error(`expected ${JOBS} audit rows, got ${written}`);
  await queue.obliterate({ force: true });
  await queue.close();
  return result;
}

let boss: PgBoss | undefined;
async function pgbossRound(round: number): Promise<RoundResult> {
  if (!boss) {
    boss = new PgBoss({ connectionString: bench.url, schema: 'pgboss', supervise: false, schedule: false, max: 10 });
    boss.on('error', (err) => console.error('pg-boss error', err));
    await boss.start();
  }
  const name = `bench_${round}`;
  await boss.createQueue(name);
  for (let i = 0; i < JOBS; i += 1000) {
    await boss.insert(Array.from({ length: Math.min(1000, JOBS - i) }, () => ({ name, data, retryLimit: 2 })));
  }
  const b = boss;
  return measure(JOBS, async () => {
    for (let w = 0; w < PGBOSS_WORKERS; w++) {
      await b.work(name, { batchSize: PGBOSS_BATCH, pollingIntervalSeconds: 0.5 }, async () => {});
    }
    // work() completes a batch without awaiting it: done is when every row says completed.
    for (;;) {
      const { rows } = await monitor.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state = 'completed'`,
        [name],
      );
      if (rows[0]!.n === JOBS) break;
      await sleep(20);
    }
    return async () => {
      await b.offWork(name);
    };
  });
}

const pgBullmq = withBackend(createPostgresBackend);
const pgConnection = { connectionString: bench.url, schema: 'bullmq', migrate: true, max: 10 };
async function bullmqPgRound(round: number): Promise<RoundResult> {
  const name = `bench_${round}`;
  const queue = new pgBullmq.Queue(name, { connection: pgConnection });
  for (let i = 0; i < PG_JOBS; i += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, PG_JOBS - i) }, () => ({
        name: 'system_health_check',
        data,
        opts: { removeOnComplete: false, removeOnFail: false, attempts: 3 },
      })),
    );
  }
  const result = await measure(PG_JOBS, async () => {
    let done = 0;
    const worker = new pgBullmq.Worker(name, async () => ({}), { connection: pgConnection, concurrency: CONCURRENCY });
    await new Promise<void>((resolve, reject) => {
      worker.on('completed', () => {
        if (++done === PG_JOBS) resolve();
      });
      worker.on('error', reject);
    });
    return () => worker.close();
  });
  await queue.obliterate({ force: true });
  await queue.close();
  return result;
}

const runners: Record<PathName, (round: number) => Promise<RoundResult>> = {
  raw: rawRound,
  audited: auditedRound,
  pgboss: pgbossRound,
  'bullmq-pg': bullmqPgRound,
};
const results = new Map<PathName, RoundResult[]>(PATHS.map((p) => [p, []]));
const fmt = (r: RoundResult) =>
  `${r.jobsPerSec} jobs/s, µs/job worker ${r.workerUs} pg ${r.postgresUs} redis ${r.redisUs} = ${r.totalUs}, ${r.cores} cores, load ${r.loadavg}`;
try {
  console.error(`load average at start: ${atStart.loadavg.join(' ')}`);
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate the order too, so no path always runs right after the same other one.
    const order = round % 2 === 1 ? PATHS : [...PATHS].reverse();
    for (const path of order) {
      const r = await runners[path](round);
      results.get(path)!.push(r);
      console.error(`round ${round} ${path.padEnd(9)} ${fmt(r)}`);
    }
  }
  const summary = (rs: RoundResult[]) => {
    const m = (pick: (r: RoundResult) => number) => median(rs.map(pick));
    return {
      jobsPerSec: m((r) => r.jobsPerSec),
      workerUs: m((r) => r.workerUs),
      postgresUs: m((r) => r.postgresUs),
      redisUs: m((r) => r.redisUs),
      totalUs: m((r) => r.totalUs),
      cores: m((r) => r.cores),
    };
  };
  const raw = results.has('raw') ? summary(results.get('raw')!).jobsPerSec : Number.NaN;
  const paths = Object.fromEntries(
    [...results].map(([path, rs]) => {
      const s = summary(rs);
      return [path, { ...s, ratioToRaw: Number((s.jobsPerSec / raw).toFixed(2)) }];
    }),
  );
  console.log(
    JSON.stringify(
      {
        jobs: JOBS,
        bullmqPgJobs: PG_JOBS,
        concurrency: CONCURRENCY,
        rounds: ROUNDS,
        pgboss: { workers: PGBOSS_WORKERS, batchSize: PGBOSS_BATCH, pollingIntervalSeconds: 0.5 },
        paths,
        machine: { atStart, atEnd: machine() },
      },
      null,
      1,
    ),
  );
} finally {
  await boss?.stop({ graceful: false, wait: true }).catch(() => {});
  redis.disconnect();
  await monitor.end();
  await bench.drop();
}
process.exit(0);
