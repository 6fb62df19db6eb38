/**
 * Scale-out: throughput of one queue consumed by 1, 2 and 4 worker processes (real processes,
 * `node --import tsx bench/fixtures/noop-agent-process.ts`), through the fleet runtime
 * (audited) and, as the baseline, through bare BullMQ workers (raw), alternating in one run;
 * --rounds rounds, medians reported.
 *
 * Each run: the queue is paused, --jobs jobs are added, the processes are started and ready,
 * then the queue is resumed and the clock runs until every job is done. Checks that no job
 * ran twice and none was lost: every handler call increments a per-job counter in Redis (each
 * must be exactly 1) and, audited, every job has exactly one audit row, with attempt 1 and
 * status completed.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379 \
 *     npx tsx bench/scale-out.ts [--jobs 20000] [--processes 1,2,4] [--concurrency 50] [--rounds 3]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createRedis } from '@fleet/queues';
import { Queue } from 'bullmq';
import { sql } from 'kysely';
import { spawnAgent } from './fixtures/spawn-agent.ts';
import { benchPrefix, createBenchDatabase, machine, median, redisUrl, round, sleep } from './support.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    processes: { type: 'string', default: '1,2,4' },
    concurrency: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
  },
});
const JOBS = Number(values.jobs);
const PROCESSES = values.processes.split(',').map(Number);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);

const startMachine = machine();
const bench = await createBenchDatabase('scale');

async function run(processes: number, mode: 'raw' | 'audited') {
  const prefix = benchPrefix(`scale-${mode}-${processes}`);
  const redis = createRedis(redisUrl, 'producer');
  const queue = new Queue('maintenance_queue', { connection: redis, prefix });
  await queue.pause();
  const ids = Array.from({ length: JOBS }, () => randomUUID());
  for (let i = 0; i < JOBS; i += 1000) {
    await queue.addBulk(
      ids.slice(i, i + 1000).map((jobId) => ({
        name: 'system_health_check',
        data: { workspace_id: bench.workspaceId, triggered_by: 'api' },
        opts: { jobId, attempts: 3, removeOnComplete: { count: 5_000 }, removeOnFail: { count: 5_000 } },
      })),
    );
  }
  const agents = Array.from({ length: processes }, () =>
    spawnAgent({ mode, databaseUrl: bench.url, redisUrl, prefix, concurrency: CONCURRENCY, effects: true }),
  );
  await Promise.all(agents.map((a) => a.ready));
  const start = performance.now();
  await queue.resume();
  const effectsKey = `${prefix}:bench-effects`;
  for (;;) {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused' as never);
    if (Object.values(counts).every((n) => n === 0)) break;
    await sleep(20);
  }
  const seconds = (performance.now() - start) / 1000;
  const perProcess = (await Promise.all(agents.map((a) => a.report()))).map((r) => r.completed);
  await Promise.all(agents.map((a) => a.stop()));

  const effects = await redis.hgetall(effectsKey);
  const counted = Object.values(effects).map(Number);
  const check: Record<string, number> = {
    jobsWithEffect: counted.length,
    jobsRunTwiceOrMore: counted.filter((n) => n > 1).length,
    jobsWithoutEffect: ids.filter((id) => !(id in effects)).length,
    failedJobs: await queue.getFailedCount(),
  };
  if (mode === 'audited') {
    const r = await sql<{ rows: number; jobs: number; bad: number }>`
      SELECT count(*)::int AS rows, count(DISTINCT job_id)::int AS jobs,
        count(*) FILTER (WHERE attempt <> 1 OR status <> 'completed')::int AS bad
      FROM autonomous_tasks WHERE queue_name = 'maintenance_queue' AND job_id = ANY(${ids}::text[])`.execute(bench.db);
    check.auditRows = r.rows[0]!.rows;
    check.auditJobs = r.rows[0]!.jobs;
    check.auditRowsNotAttempt1Completed = r.rows[0]!.bad;
  }
  const ok =
    check.jobsWithEffect === JOBS &&
    check.jobsRunTwiceOrMore === 0 &&
    check.jobsWithoutEffect === 0 &&
    check.failedJobs === 0 &&
    (mode === 'raw' ||
      (check.auditRows === JOBS && check.auditJobs === JOBS && check.auditRowsNotAttempt1Completed === 0));
  await queue.obliterate({ force: true }).catch(() => {});
  await redis.del(effectsKey);
  await queue.close();
  redis.disconnect();
  return { jobsPerSec: round(JOBS / seconds), seconds: round(seconds, 2), perProcess, exactlyOnce: ok, check };
}

type RunResult = Awaited<ReturnType<typeof run>>;
/** Every run, by mode then process count, in the order they ran. */
const runs: Record<string, Record<string, RunResult[]>> = { raw: {}, audited: {} };
let allOk = true;
try {
  // Rounds alternate modes and process counts, so a burst of load from other work on the
  // machine lands on several configurations instead of skewing one.
  for (let pass = 1; pass <= ROUNDS; pass++) {
    for (const n of PROCESSES) {
      for (const mode of ['raw', 'audited'] as const) {
        const r = await run(n, mode);
        allOk &&= r.exactlyOnce;
        runs[mode]![`${n}`] ??= [];
        runs[mode]![`${n}`]!.push(r);
        console.error(`round ${pass}, ${n} process(es) ${mode}: ${JSON.stringify(r)}`);
      }
    }
  }
  const medians = Object.fromEntries(
    Object.entries(runs).map(([mode, byN]) => [
      mode,
      Object.fromEntries(Object.entries(byN).map(([n, rs]) => [n, median(rs.map((r) => r.jobsPerSec))])),
    ]),
  ) as Record<string, Record<string, number>>;
  const speedup = (mode: string) =>
    Object.fromEntries(PROCESSES.map((n) => [n, round(medians[mode]![n]! / medians[mode]![PROCESSES[0]!]!, 2)]));
  console.log(
    JSON.stringify(
      {
        machine: { atStart: startMachine, atEnd: machine() },
        jobs: JOBS,
        rounds: ROUNDS,
        concurrencyPerProcess: CONCURRENCY,
        medianJobsPerSec: medians,
        speedupOverOneProcess: { raw: speedup('raw'), audited: speedup('audited') },
        auditedOverRaw: Object.fromEntries(
          PROCESSES.map((n) => [n, round(medians.audited![n]! / medians.raw![n]!, 2)]),
        ),
        exactlyOnce: allOk,
        runs,
      },
      null,
      1,
    ),
  );
} finally {
  await bench.drop();
}
process.exit(allOk ? 0 : 1);
