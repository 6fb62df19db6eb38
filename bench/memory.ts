/**
 * Memory of an agent process: RSS (from /proc) and V8 heap of one worker process
 * (bench/fixtures/noop-agent-process.ts, no-op handler through the fleet runtime) idle, then
 * through --jobs no-op jobs fed continuously (the backlog is kept near --backlog so Redis holds
 * no more than that), then idle again. Sampled every --sample-ms. Reports start, peak and end,
 * and the least-squares slope of RSS and heap over the load phase after its first quarter
 * (warm-up: JIT, pools and buffers reach their working size), per 10,000 jobs: through every
 * sample, and through the troughs (the lowest sample of each sixth), which is where a leak shows.
 *
 * Baseline in the same run: a bare BullMQ worker process (no audit) through --baseline-jobs jobs.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379 \
 *     npx tsx bench/memory.ts [--jobs 100000] [--baseline-jobs 30000] [--sample-ms 1000] [--idle-seconds 10]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createRedis } from '@fleet/queues';
import { Queue } from 'bullmq';
import { sql } from 'kysely';
import { spawnAgent } from './fixtures/spawn-agent.ts';
import { benchPrefix, createBenchDatabase, machine, median, redisUrl, round, rssMiB, sleep, slope } from './support.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '100000' },
    'baseline-jobs': { type: 'string', default: '30000' },
    'sample-ms': { type: 'string', default: '1000' },
    'idle-seconds': { type: 'string', default: '10' },
    backlog: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '50' },
  },
});
const SAMPLE_MS = Number(values['sample-ms']);
const IDLE_MS = Number(values['idle-seconds']) * 1000;
const BACKLOG = Number(values.backlog);

const startMachine = machine();
const bench = await createBenchDatabase('memory');

interface Sample {
  atS: number;
  phase: 'idle' | 'load' | 'after';
  completed: number;
  rssMiB: number;
  heapUsedMiB: number;
}

async function run(mode: 'raw' | 'audited', jobs: number) {
  const prefix = benchPrefix(`mem-${mode}`);
  const redis = createRedis(redisUrl, 'producer');
  const queue = new Queue('maintenance_queue', { connection: redis, prefix });
  const agent = spawnAgent({ mode, databaseUrl: bench.url, redisUrl, prefix, concurrency: Number(values.concurrency) });
  await agent.ready;
  const t0 = performance.now();
  const samples: Sample[] = [];
  let phase: Sample['phase'] = 'idle';
  const sample = async () => {
    const r = await agent.report();
    samples.push({
      atS: round((performance.now() - t0) / 1000, 1),
      phase,
      completed: r.completed,
      rssMiB: round(rssMiB(agent.pid) ?? Number.NaN),
      heapUsedMiB: round(r.memory.heapUsed / 2 ** 20),
    });
  };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await sample();
      await sleep(SAMPLE_MS);
    }
  })();

  await sleep(IDLE_MS);
  phase = 'load';
  const loadStart = performance.now();
  let added = 0;
  while (added < jobs) {
    const waiting = await queue.getWaitingCount();
    if (waiting < BACKLOG) {
      const n = Math.min(jobs - added, BACKLOG);
      await queue.addBulk(
        Array.from({ length: n }, () => ({
          name: 'system_health_check',
          data: { workspace_id: bench.workspaceId, triggered_by: 'api' },
          opts: {
            jobId: randomUUID(),
            attempts: 3,
            removeOnComplete: { count: 1_000 },
            removeOnFail: { count: 1_000 },
          },
        })),
      );
      added += n;
    } else {
      await sleep(50);
    }
  }
  while ((await agent.report()).completed < jobs) await sleep(100);
  const loadSeconds = (performance.now() - loadStart) / 1000;
  phase = 'after';
  await sleep(IDLE_MS);
  sampling = false;
  await sampler;
  await agent.stop();
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
  redis.disconnect();

  const load = samples.filter((s) => s.phase === 'load');
  const steady = load.filter((s) => s.completed >= jobs / 4);
  const of = (xs: Sample[], k: 'rssMiB' | 'heapUsedMiB') => xs.map((s) => s[k]);
  const per10k = (k: 'rssMiB' | 'heapUsedMiB') =>
    round(slope(steady.map((s) => [s.completed / 10_000, s[k]] as [number, number])), 2);
  // The heap saws up and down with each major GC, so a line through every sample mostly fits the
  // saw. A leak shows in the troughs: the lowest sample of each sixth of the steady phase.
  const troughPer10k = (k: 'rssMiB' | 'heapUsedMiB') => {
    const buckets = new Map<number, Sample>();
    for (const s of steady) {
      const b = Math.min(5, Math.floor(((s.completed - jobs / 4) / (jobs * 0.75)) * 6));
      if (!buckets.has(b) || s[k] < buckets.get(b)![k]) buckets.set(b, s);
    }
    return round(slope([...buckets.values()].map((s) => [s.completed / 10_000, s[k]] as [number, number])), 2);
  };
  return {
    jobs,
    jobsPerSec: round(jobs / loadSeconds),
    rssMiB: {
      idle: round(
        median(
          of(
            samples.filter((s) => s.phase === 'idle'),
            'rssMiB',
          ),
        ),
      ),
      loadStart: load[0]?.rssMiB,
      loadPeak: Math.max(...of(load, 'rssMiB')),
      loadEnd: load.at(-1)?.rssMiB,
      afterIdle: samples.at(-1)?.rssMiB,
      slopePer10kJobsAfterWarmup: per10k('rssMiB'),
      troughSlopePer10kJobs: troughPer10k('rssMiB'),
    },
    heapUsedMiB: {
      idle: round(
        median(
          of(
            samples.filter((s) => s.phase === 'idle'),
            'heapUsedMiB',
          ),
        ),
      ),
      loadPeak: Math.max(...of(load, 'heapUsedMiB')),
      loadEnd: load.at(-1)?.heapUsedMiB,
      afterIdle: samples.at(-1)?.heapUsedMiB,
      slopePer10kJobsAfterWarmup: per10k('heapUsedMiB'),
      troughSlopePer10kJobs: troughPer10k('heapUsedMiB'),
    },
    samples,
  };
}

try {
  const baseline = await run('raw', Number(values['baseline-jobs']));
  console.error(`raw: ${JSON.stringify({ ...baseline, samples: baseline.samples.length })}`);
  const audited = await run('audited', Number(values.jobs));
  console.error(`audited: ${JSON.stringify({ ...audited, samples: audited.samples.length })}`);
  const rows = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM autonomous_tasks WHERE status = 'completed'`.execute(bench.db);
  console.log(
    JSON.stringify(
      {
        machine: { atStart: startMachine, atEnd: machine() },
        sampleMs: SAMPLE_MS,
        auditedRowsCompleted: rows.rows[0]!.n,
        raw: baseline,
        audited,
      },
      null,
      1,
    ),
  );
} finally {
  await bench.drop();
}
process.exit(0);
