import type { Database } from '@fleet/db';
import { masters, type RedisClient } from '@fleet/queues';
import { withTimeout } from '@fleet/runtime';
import type { Job, Queue } from 'bullmq';
import { type Kysely, sql } from 'kysely';

export interface HealthThresholds {
  /** A `running` row older than this is stuck. */
  stuckRunningMs: number;
  /** Oldest waiting job older than this: backlog. */
  maxWaitAgeMs: number;
  /** More waiting jobs than this: backlog. */
  maxQueueDepth: number;
  /** Failed share of finished attempts in the last hour above this: unhealthy. */
  maxFailureRate: number;
  /** The failure rate counts only with at least this many finished attempts. */
  minFailureSample: number;
}

export interface HealthDeps {
  db: Kysely<Database>;
  /** A fail-fast Redis client (producer role) for PING and INFO. */
  redis: RedisClient;
  /** The queues to inspect, by name. */
  queues: Record<string, Queue>;
  thresholds: HealthThresholds;
  /** Per-probe time limit. */
  timeoutMs?: number;
  now?: () => number;
}

export type QueueHealth = {
  waiting: number;
  prioritized: number;
  /** An operator paused the queue: its waiting jobs do not run. */
  paused: boolean;
  active: number;
  delayed: number;
  failed: number;
  /** Age of the oldest job ready to run (waiting or prioritized); null when none. */
  oldest_waiting_age_ms: number | null;
};

export type HealthReport = {
  healthy: boolean;
  /** One line per problem found, e.g. "stuck_running: 3 rows running for over 60 min". */
  problems: string[];
  checked_at: string;
  postgres: { ok: boolean; latency_ms: number; error?: string };
  redis: {
    ok: boolean;
    latency_ms: number;
    error?: string;
    /** The policy of every master when they agree; otherwise the first unsafe one. */
    maxmemory_policy: string | null;
    /** BullMQ loses jobs silently when Redis evicts keys; only `noeviction` is safe, on every master. */
    eviction_safe: boolean;
    /** On a cluster: each master's address and policy (a single server is not listed). */
    masters?: { address: string; maxmemory_policy: string | null }[];
  };
  queues: Record<string, QueueHealth | { error: string }>;
  failures_last_hour: {
    finished: number;
    failed: number;
    partial_failure: number;
    rate: number | null;
    by_task_type: Record<string, { finished: number; failed: number }>;
  } | null;
  stuck_running: {
    count: number;
    threshold_minutes: number;
    oldest: { id: string; queue_name: string | null; job_id: string | null; executed_at: string }[];
  } | null;
  /** The audit table's partitions (docs/partitioning.md). */
  partitions: {
    /** Rows in autonomous_tasks_default (counted up to 1,000): no partition covers them. */
    default_rows: number;
    /** End of the newest partition. */
    covered_until: string | null;
    unit: string | null;
  } | null;
};

const UNIT_MS: Record<string, number> = { day: 86_400_000, month: 31 * 86_400_000 };

async function partitionHealth(db: Kysely<Database>): Promise<NonNullable<HealthReport['partitions']>> {
  const { rows } = await sql<{ default_rows: string; covered_until: Date | null; unit: string | null }>`
    SELECT default_rows, covered_until, unit FROM autonomous_tasks_partition_health()`.execute(db);
  const r = rows[0];
  return {
    default_rows: Number(r?.default_rows ?? 0),
    covered_until: r?.covered_until ? r.covered_until.toISOString() : null,
    unit: r?.unit ?? null,
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value?: T; error?: string }> {
  const started = performance.now();
  try {
    const value = await fn();
    return { ms: Math.round(performance.now() - started), value };
  } catch (error) {
    return { ms: Math.round(performance.now() - started), error: (error as Error).message };
  }
}

/** Reads `maxmemory_policy` from INFO memory (CONFIG GET is often disabled on managed Redis). */
export function parseMaxmemoryPolicy(info: string): string | null {
  const match = /^maxmemory_policy:(\S+)/m.exec(info);
  return match ? match[1]! : null;
}

/** Each master's eviction policy: a cluster's shards are configured one by one, so each is asked. */
async function masterPolicies(redis: RedisClient): Promise<{ address: string; maxmemory_policy: string | null }[]> {
  const nodes = masters(redis);
  if (nodes.length === 0) throw new Error('no Redis Cluster master is connected');
  return Promise.all(
    nodes.map(async (node) => ({
      address: `${node.options.host}:${node.options.port}`,
      maxmemory_policy: parseMaxmemoryPolicy(await node.info('memory')),
    })),
  );
}

/** When a job became ready to run: its creation plus any delay. */
function readySince(job: Job): number {
  return job.timestamp + (job.delay ?? 0);
}

export async function inspectQueue(queue: Queue, now: number): Promise<QueueHealth> {
  const [counts, paused] = await Promise.all([
    queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed'),
    queue.isPaused(),
  ]);
  // The wait list is read oldest-first with asc=true; prioritized jobs are ordered by priority,
  // so a sample of the first ones stands in for them.
  const [wait, prioritized] = await Promise.all([
    counts.waiting ? queue.getJobs(['wait'], 0, 0, true) : [],
    counts.prioritized ? queue.getJobs(['prioritized'], 0, 49, true) : [],
  ]);
  const ready = [...wait, ...prioritized].filter(Boolean).map(readySince);
  return {
    waiting: counts.waiting ?? 0,
    prioritized: counts.prioritized ?? 0,
    paused,
    active: counts.active ?? 0,
    delayed: counts.delayed ?? 0,
    failed: counts.failed ?? 0,
    oldest_waiting_age_ms: ready.length > 0 ? Math.max(0, now - Math.min(...ready)) : null,
  };
}

async function failuresLastHour(db: Kysely<Database>): Promise<NonNullable<HealthReport['failures_last_hour']>> {
  const rows = await db
    .selectFrom('autonomous_tasks')
    .select((eb) => ['task_type', 'status', eb.fn.countAll<string>().as('n')])
    .where('executed_at', '>=', sql<Date>`now() - interval '1 hour'`)
    .where('status', 'in', ['completed', 'failed', 'partial_failure'])
    .groupBy(['task_type', 'status'])
    .execute();
  const out = {
    finished: 0,
    failed: 0,
    partial_failure: 0,
    rate: null as number | null,
    by_task_type: {} as Record<string, { finished: number; failed: number }>,
  };
  for (const r of rows) {
    const n = Number(r.n);
    out.by_task_type[r.task_type] ??= { finished: 0, failed: 0 };
    const t = out.by_task_type[r.task_type]!;
    t.finished += n;
    out.finished += n;
    if (r.status === 'failed') {
      t.failed += n;
      out.failed += n;
    } else if (r.status === 'partial_failure') {
      out.partial_failure += n;
    }
  }
  out.rate = out.finished > 0 ? Number((out.failed / out.finished).toFixed(4)) : null;
  return out;
}

async function stuckRunning(
  db: Kysely<Database>,
  thresholdMs: number,
): Promise<NonNullable<HealthReport['stuck_running']>> {
  const cutoff = sql<Date>`now() - make_interval(secs => ${thresholdMs / 1000})`;
  const [count, oldest] = await Promise.all([
    db
      .selectFrom('autonomous_tasks')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('status', '=', 'running')
      .where('executed_at', '<', cutoff)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('autonomous_tasks')
      .select(['id', 'queue_name', 'job_id', 'executed_at'])
      .where('status', '=', 'running')
      .where('executed_at', '<', cutoff)
      .orderBy('executed_at')
      .limit(10)
      .execute(),
  ]);
  return {
    count: Number(count.n),
    threshold_minutes: Math.round(thresholdMs / 60_000),
    oldest: oldest.map((r) => ({ ...r, executed_at: r.executed_at.toISOString() })),
  };
}

/**
 * Checks the fleet: Postgres and Redis reachable, Redis's eviction policy, each queue's depth
 * and oldest waiting job, the failure rate of the last hour and `running` rows older than the
 * threshold. Never throws for an unhealthy finding: the report says what is wrong.
 */
export async function healthCheck(deps: HealthDeps): Promise<HealthReport> {
  const now = deps.now?.() ?? Date.now();
  const timeout = deps.timeoutMs ?? 5_000;
  const t = deps.thresholds;
  const problems: string[] = [];

  const [pg, ping, info] = await Promise.all([
    timed(() => withTimeout(sql`SELECT 1`.execute(deps.db), timeout, 'Postgres')),
    timed(() => withTimeout(deps.redis.ping(), timeout, 'Redis')),
    timed(() => withTimeout(masterPolicies(deps.redis), timeout, 'Redis INFO')),
  ]);
  if (pg.error) problems.push(`postgres: unreachable (${pg.error})`);
  if (ping.error) problems.push(`redis: unreachable (${ping.error})`);
  const policies = info.value ?? [];
  const unsafe = policies.filter((m) => m.maxmemory_policy !== 'noeviction');
  const evictionSafe = policies.length > 0 && unsafe.length === 0;
  const policy = (unsafe[0] ?? policies[0])?.maxmemory_policy ?? null;
  if (!ping.error && !evictionSafe) {
    const where = deps.redis.isCluster && unsafe.length > 0 ? ` on ${unsafe.map((m) => m.address).join(', ')}` : '';
    problems.push(
      `redis: maxmemory-policy is ${policy ?? 'unknown'}${where}; set it to noeviction or queued jobs may be evicted`,
    );
  }

  const queues: HealthReport['queues'] = {};
  if (!ping.error) {
    await Promise.all(
      Object.entries(deps.queues).map(async ([name, queue]) => {
        try {
          const q = await withTimeout(inspectQueue(queue, now), timeout, `queue ${name}`);
          queues[name] = q;
          const ready = q.waiting + q.prioritized;
          if (ready > t.maxQueueDepth)
            problems.push(`backlog: ${name} has ${ready} waiting jobs (limit ${t.maxQueueDepth})`);
          if (q.oldest_waiting_age_ms !== null && q.oldest_waiting_age_ms > t.maxWaitAgeMs) {
            problems.push(
              `backlog: ${name}'s oldest waiting job is ${Math.round(q.oldest_waiting_age_ms / 1000)} s old (limit ${Math.round(t.maxWaitAgeMs / 1000)} s)`,
            );
          }
        } catch (error) {
          queues[name] = { error: (error as Error).message };
          problems.push(`queue ${name}: ${(error as Error).message}`);
        }
      }),
    );
  }

  let failures: HealthReport['failures_last_hour'] = null;
  let stuck: HealthReport['stuck_running'] = null;
  let partitions: HealthReport['partitions'] = null;
  if (!pg.error) {
    [failures, stuck, partitions] = await Promise.all([
      withTimeout(failuresLastHour(deps.db), timeout, 'failure rate query'),
      withTimeout(stuckRunning(deps.db, t.stuckRunningMs), timeout, 'stuck rows query'),
      withTimeout(partitionHealth(deps.db), timeout, 'partitions query').catch((error: Error) => {
        problems.push(`partitions: ${error.message}`);
        return null;
      }),
    ]);
    if (partitions && partitions.default_rows > 0) {
      problems.push(
        `partitions: ${partitions.default_rows >= 1000 ? 'over 1000' : partitions.default_rows} rows in autonomous_tasks_default, whose created_at no partition covers; ` +
          'create partitions for their range with autonomous_tasks_create_partitions(until, from), which moves them in',
      );
    }
    const aheadMs = partitions?.covered_until ? Date.parse(partitions.covered_until) - now : null;
    if (partitions && (aheadMs === null || aheadMs < 2 * (UNIT_MS[partitions.unit ?? 'day'] ?? UNIT_MS.day!))) {
      problems.push(
        `partitions: autonomous_tasks has partitions only until ${partitions.covered_until ?? 'never'}; ` +
          'data_cleanup and migrate create them ahead',
      );
    }
    if (failures.rate !== null && failures.finished >= t.minFailureSample && failures.rate > t.maxFailureRate) {
      problems.push(
        `failure_rate: ${(failures.rate * 100).toFixed(1)}% of ${failures.finished} attempts failed in the last hour (limit ${(t.maxFailureRate * 100).toFixed(1)}%)`,
      );
    }
    if (stuck.count > 0) {
      problems.push(`stuck_running: ${stuck.count} rows running for over ${stuck.threshold_minutes} min`);
    }
  }

  return {
    healthy: problems.length === 0,
    problems,
    checked_at: new Date(now).toISOString(),
    postgres: { ok: !pg.error, latency_ms: pg.ms, ...(pg.error ? { error: pg.error } : {}) },
    redis: {
      ok: !ping.error,
      latency_ms: ping.ms,
      ...(ping.error ? { error: ping.error } : {}),
      maxmemory_policy: policy,
      ...(deps.redis.isCluster ? { masters: policies } : {}),
      eviction_safe: evictionSafe,
    },
    queues,
    failures_last_hour: failures,
    stuck_running: stuck,
    partitions,
  };
}
