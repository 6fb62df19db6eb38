/**
 * End-to-end latency at a steady offered rate below saturation: jobs are enqueued at a fixed
 * rate (default 200 and 1000 jobs/s, 20 s each after a 3 s warm-up that is not counted) and
 * consumed by one worker process with a no-op handler.
 *
 * For each rate, two runs on the same Redis and Postgres:
 *   - raw:     bare BullMQ Queue.add → bare BullMQ Worker (baseline, no validation, no audit);
 *   - audited: createProducer().enqueue (validation + pending audit row) → fleet runtime agent.
 * Latencies are measured from the moment the bench process calls add/enqueue (t0) to:
 *   - worker:      the worker process seeing the job completed (BullMQ 'completed');
 *   - row done:    completed_at of the terminal audit row (when the handler ended);
 *   - row written: updated_at of that row (when the terminal write reached Postgres).
 * Both processes run on one machine, so Date.now() is one clock.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379 \
 *     npx tsx bench/latency.ts [--rates 200,1000] [--seconds 20] [--warmup 3] [--concurrency 50] [--pending-rows yes]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createProducer, createRedis } from '@fleet/queues';
import { Queue } from 'bullmq';
import { sql } from 'kysely';
import { spawnAgent } from './fixtures/spawn-agent.ts';
import { benchPrefix, createBenchDatabase, machine, percentile, redisUrl, round, sleep } from './support.ts';

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '200,1000' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '50' },
    'pending-rows': { type: 'string', default: 'yes' },
  },
});
const RATES = values.rates.split(',').map(Number);
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const CONCURRENCY = Number(values.concurrency);
const PENDING = values['pending-rows'] !== 'no';

const startMachine = machine();
const bench = await createBenchDatabase('latency');

function stats(xs: number[]) {
  return {
    n: xs.length,
    p50: round(percentile(xs, 50)),
    p95: round(percentile(xs, 95)),
    p99: round(percentile(xs, 99)),
    max: round(percentile(xs, 100)),
  };
}

interface Sent {
  t0: Map<string, number>;
  /** Duration of each add/enqueue call (ms). */
  callMs: number[];
  offered: number;
}

/** Calls `add` `rate` times per second for warmup + seconds, without waiting for earlier calls. */
async function offer(rate: number, add: () => Promise<string>): Promise<Sent> {
  const t0 = new Map<string, number>();
  const callMs: number[] = [];
  const inFlight = new Set<Promise<void>>();
  const start = performance.now();
  const total = Math.round(rate * (WARMUP + SECONDS));
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor((rate * (performance.now() - start)) / 1000));
    for (; sent < due; sent++) {
      const at = Date.now();
      const began = performance.now();
      const p = add().then((id) => {
        t0.set(id, at);
        callMs.push(performance.now() - began);
        inFlight.delete(p);
      });
      inFlight.add(p);
    }
    await sleep(2);
  }
  await Promise.all(inFlight);
  return { t0, callMs, offered: total };
}

async function run(rate: number, mode: 'raw' | 'audited') {
  const prefix = benchPrefix(`lat-${mode}`);
  const agent = spawnAgent({
    mode,
    databaseUrl: bench.url,
    redisUrl,
    prefix,
    concurrency: CONCURRENCY,
    record: true,
  });
  await agent.ready;
  const payload = { workspace_id: bench.workspaceId };
  let add: () => Promise<string>;
  let close: () => Promise<void>;
  let queue: Queue;
  if (mode === 'raw') {
    queue = new Queue('maintenance_queue', { connection: createRedis(redisUrl, 'producer'), prefix });
    add = async () => {
      const job = await queue.add('system_health_check', payload, {
        jobId: randomUUID(),
        attempts: 3,
        removeOnComplete: { count: 5_000 },
      });
      return job.id!;
    };
    close = () => queue.close();
  } else {
    const producer = createProducer({ redis: redisUrl, prefix, db: PENDING ? bench.db : undefined });
    queue = producer.queue('maintenance_queue');
    add = async () => (await producer.enqueue('maintenance_queue', 'system_health_check', payload)).jobId;
    close = () => producer.close();
  }
  const startedAt = Date.now();
  const sent = await offer(rate, add);
  const offerSeconds = (Date.now() - startedAt) / 1000;

  let report = await agent.report();
  const deadline = Date.now() + 120_000;
  while (report.completed < sent.offered && Date.now() < deadline) {
    await sleep(100);
    report = await agent.report();
  }
  if (report.completed !== sent.offered) throw new Error(`${mode}: ${report.completed}/${sent.offered} completed`);
  const doneAt = Math.max(...report.finishedAt.map(([, t]) => t));
  const measured = (id: string) => (sent.t0.get(id) ?? 0) >= startedAt + WARMUP * 1000;
  const worker = report.finishedAt.filter(([id]) => measured(id)).map(([id, t]) => t - sent.t0.get(id)!);
  const result: Record<string, unknown> = {
    offered: sent.offered,
    offeredRate: round(sent.offered / offerSeconds),
    completedRate: round(sent.offered / ((doneAt - startedAt) / 1000)),
    enqueueCallMs: stats(sent.callMs),
    worker: stats(worker),
  };
  if (mode === 'audited') {
    const ids = [...sent.t0.keys()];
    const rows = await sql<{ job_id: string; status: string; attempt: number; completed_at: Date; updated_at: Date }>`
      SELECT job_id, status, attempt, completed_at, updated_at FROM autonomous_tasks
      WHERE queue_name = 'maintenance_queue' AND job_id = ANY(${ids}::text[])`.execute(bench.db);
    const terminal = rows.rows.filter((r) => r.status === 'completed' && r.attempt === 1);
    if (terminal.length !== ids.length) throw new Error(`audited: ${terminal.length}/${ids.length} completed rows`);
    const m = terminal.filter((r) => measured(r.job_id));
    result.rowDone = stats(m.map((r) => r.completed_at.getTime() - sent.t0.get(r.job_id)!));
    result.rowWritten = stats(m.map((r) => r.updated_at.getTime() - sent.t0.get(r.job_id)!));
  }
  await agent.stop();
  await queue.obliterate({ force: true }).catch(() => {});
  await close();
  return result;
}

const results: Record<string, Record<string, unknown>> = {};
try {
  for (const rate of RATES) {
    for (const mode of ['raw', 'audited'] as const) {
      const r = await run(rate, mode);
      results[`${rate}/s`] ??= {};
      results[`${rate}/s`]![mode] = r;
      console.error(`${rate}/s ${mode}: ${JSON.stringify(r)}`);
    }
  }
  console.log(
    JSON.stringify(
      {
        machine: { atStart: startMachine, atEnd: machine() },
        seconds: SECONDS,
        warmup: WARMUP,
        concurrency: CONCURRENCY,
        pendingRows: PENDING,
        latencyMs: results,
      },
      null,
      1,
    ),
  );
} finally {
  await bench.drop();
}
process.exit(0);
