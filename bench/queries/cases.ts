/**
 * The read queries the fleet runs against autonomous_tasks, captured from the real code paths
 * (@fleet/ops for the control plane and CLI, the continuous-intelligence budget) by logging
 * the SQL Kysely sends, plus the seed document's two hand-written queries and the scheduler's
 * stuck-running check, copied verbatim.
 */

import { QUEUE_NAMES } from '@fleet/catalog';
import type { Database } from '@fleet/db';
import { createPool } from '@fleet/db';
import { dashboardStats, getTask, listTasks, type OpsDeps, summary } from '@fleet/ops';
import { createProducer } from '@fleet/queues';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { monthSpentUsd } from '../../agents/continuous-intelligence/src/budget.ts';

export interface QueryCase {
  /** Which caller runs it, e.g. `ops.dashboardStats(24h, all)`. */
  caller: string;
  /** The statement's role inside the caller, e.g. `totals`. */
  name: string;
  sql: string;
  params: readonly unknown[];
  /** True when the statement calls a plpgsql function whose inner plan is what matters. */
  viaFunction?: boolean;
  /** True for a write (timed inside the variant's transaction, which is rolled back). */
  write?: boolean;
}

export interface Workspaces {
  busy: string;
  typical: string;
  /** Two workspaces without any audit row (new tenants). */
  empty: string;
  empty2: string;
  /** A job id of an attempt 30 days old, and its queue. */
  oldJob: { id: string; queue: string };
}

/** What each statement of dashboardStats is, told apart by its text (they run in parallel). */
function dashboardPart(text: string): string {
  if (text.includes('WITH days')) return 'cost_by_day';
  if (text.includes('WITH buckets')) return 'throughput';
  if (text.includes('error_message')) return 'latest_failures';
  // totals and by_type also mention status = 'running' (in a FILTER); only the stuck list selects agent_name.
  if (text.includes('agent_name')) return 'stuck_running';
  if (text.includes('GROUP BY task_type')) return 'by_type';
  return 'totals';
}

/** Runs each caller once on `url` and returns every statement it sent, labelled. */
export async function captureCases(url: string, redisUrl: string, ws: Workspaces): Promise<QueryCase[]> {
  const captured: Array<{ sql: string; params: readonly unknown[] }> = [];
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: createPool(url, { max: 8 }) }),
    log(event) {
      if (event.level === 'query') captured.push({ sql: event.query.sql, params: event.query.parameters });
    },
  });
  const cases: QueryCase[] = [];
  async function run(caller: string, fn: () => Promise<unknown>, label: (text: string, i: number) => string) {
    captured.length = 0;
    await fn();
    captured.forEach((q, i) => {
      cases.push({ caller, name: label(q.sql, i), sql: q.sql, params: q.params });
    });
  }
  try {
    for (const [label, id] of [
      ['busy', ws.busy],
      ['typical', ws.typical],
    ] as const) {
      for (const hours of [24, 168]) {
        await run(
          `get_autonomous_task_summary(${label} ws, ${hours}h)`,
          () => summary(db, { workspace_id: id, hours }),
          () => 'function',
        );
        cases.at(-1)!.viaFunction = true;
      }
    }
    await run('ops.dashboardStats(all ws, 24h)', () => dashboardStats(db, { hours: 24 }), dashboardPart);
    await run('ops.dashboardStats(all ws, 7d)', () => dashboardStats(db, { hours: 168 }), dashboardPart);
    await run(
      'ops.dashboardStats(busy ws, 24h)',
      () => dashboardStats(db, { hours: 24, workspace_id: ws.busy }),
      dashboardPart,
    );
    await run(
      'ops.dashboardStats(typical ws, 7d)',
      () => dashboardStats(db, { hours: 168, workspace_id: ws.typical }),
      dashboardPart,
    );
    await run(
      'ops.listTasks(first page, 50)',
      () => listTasks(db, {}),
      () => 'page',
    );
    const first = await listTasks(db, { limit: 50 });
    await run(
      'ops.listTasks(page 2 by cursor)',
      () => listTasks(db, { cursor: first.nextCursor! }),
      () => 'page',
    );
    await run(
      'ops.listTasks(typical ws)',
      () => listTasks(db, { workspace_id: ws.typical }),
      () => 'page',
    );
    await run(
      'ops.listTasks(busy ws)',
      () => listTasks(db, { workspace_id: ws.busy }),
      () => 'page',
    );
    await run(
      'ops.listTasks(empty ws)',
      () => listTasks(db, { workspace_id: ws.empty }),
      () => 'page',
    );
    await run(
      'ops.listTasks(API key of 2 ws)',
      () => listTasks(db, {}, { kind: 'workspaces', workspaceIds: [ws.typical, ws.empty] }),
      () => 'page',
    );
    await run(
      'ops.listTasks(API key of 2 new ws)',
      () => listTasks(db, {}, { kind: 'workspaces', workspaceIds: [ws.empty, ws.empty2] }),
      () => 'page',
    );
    await run(
      'ops.listTasks(status=failed)',
      () => listTasks(db, { status: 'failed' }),
      () => 'page',
    );
    await run(
      'ops.listTasks(typical ws, type, failed)',
      () => listTasks(db, { workspace_id: ws.typical, task_type: 'email_sync', status: 'failed,partial_failure' }),
      () => 'page',
    );
    await run(
      'dashboard recent (24h, 25)',
      () => listTasks(db, { since: new Date(Date.now() - 24 * 3_600_000).toISOString(), limit: 25 }),
      () => 'page',
    );
    await run(
      'dashboard recent (typical ws, 24h, 25)',
      () =>
        listTasks(db, {
          workspace_id: ws.typical,
          since: new Date(Date.now() - 24 * 3_600_000).toISOString(),
          limit: 25,
        }),
      () => 'page',
    );
    const producer = createProducer({ redis: redisUrl, prefix: `{bench-q-${process.pid}}` });
    const deps = { db, producer } as unknown as OpsDeps;
    try {
      await run(
        'ops.getTask(old job id)',
        () => getTask(deps, ws.oldJob.id),
        (_t, i) => `lookup_${i + 1}`,
      );
      await run(
        'ops.getTask(old job id, queue)',
        () => getTask(deps, ws.oldJob.id, { queue: ws.oldJob.queue }),
        (_t, i) => `lookup_${i + 1}`,
      );
      await run(
        'ops.getTask(unknown job id)',
        () => getTask(deps, 'job-not-in-audit').catch(() => null),
        (_t, i) => `lookup_${i + 1}`,
      );
    } finally {
      // getTask opens (and so creates the meta key of) the queues it looks in; leave nothing behind.
      for (const name of QUEUE_NAMES)
        await producer
          .queue(name)
          .obliterate({ force: true })
          .catch(() => {});
      await producer.close();
    }
    await run(
      'budget monthSpentUsd(busy ws)',
      () => monthSpentUsd(db, ws.busy),
      () => 'month_spent',
    );
  } finally {
    await db.destroy();
  }

  // The CLI's fleet-wide `fleet status` summary (packages/cli/src/commands/status.ts).
  cases.push({
    caller: 'cli status (all ws, 24h)',
    name: 'fleet_summary',
    sql: `SELECT task_type, count(*)::int AS total,
           count(*) FILTER (WHERE status = 'completed')::int AS ok,
           count(*) FILTER (WHERE status IN ('failed', 'partial_failure'))::int AS failed,
           round(avg(duration_ms)::numeric, 2) AS avg_ms,
           coalesce(sum(cost_estimate_usd), 0)::text AS cost, max(executed_at) AS last
    FROM autonomous_tasks
    WHERE executed_at >= now() - make_interval(hours => $1::int)
      AND ($2::text IS NULL OR task_type = $2::text)
    GROUP BY task_type ORDER BY task_type`,
    params: [24, null],
  });
  // The scheduler's health check (agents/scheduler/src/health-check.ts, stuckRunning).
  cases.push(
    {
      caller: 'scheduler health check',
      name: 'stuck_count',
      sql: `select count(*) as "n" from "autonomous_tasks" where "status" = $1 and "executed_at" < now() - make_interval(secs => $2)`,
      params: ['running', 900],
    },
    {
      caller: 'scheduler health check',
      name: 'stuck_oldest',
      sql: `select "id", "queue_name", "job_id", "executed_at" from "autonomous_tasks" where "status" = $1 and "executed_at" < now() - make_interval(secs => $2) order by "executed_at" limit $3`,
      params: ['running', 900, 10],
    },
    {
      caller: 'scheduler health check',
      name: 'failures_last_hour',
      sql: `select "task_type", "status", count(*) as "n" from "autonomous_tasks" where "executed_at" >= now() - interval '1 hour' and "status" in ($1, $2, $3) group by "task_type", "status"`,
      params: ['completed', 'failed', 'partial_failure'],
    },
  );
  // A proposed form of the task list for keys of several workspaces (not what ops runs today):
  // one index range per workspace on (workspace_id, created_at, id), merged, instead of one walk
  // of the global (created_at, id) index filtered by workspace.
  cases.push({
    caller: 'proposed listTasks(API key of 2 new ws), LATERAL',
    name: 'page',
    sql: `SELECT t.* FROM unnest($1::uuid[]) AS w(id)
    CROSS JOIN LATERAL (
      SELECT * FROM autonomous_tasks a WHERE a.workspace_id = w.id
      ORDER BY a.created_at DESC, a.id DESC LIMIT $2
    ) t
    ORDER BY t.created_at DESC, t.id DESC LIMIT $2`,
    params: [[ws.empty, ws.empty2], 51],
  });
  // The write path: 10,000 new attempt rows (copies of recent ones with new job ids), one
  // statement; what every index costs the audit writer. Rolled back with the variant.
  cases.push({
    caller: 'write path',
    name: 'insert_10k_rows',
    sql: `INSERT INTO autonomous_tasks (workspace_id, task_type, status, input_data, output_data, executed_at,
      completed_at, triggered_by, agent_name, cost_estimate_usd, queue_name, job_id, attempt)
    SELECT workspace_id, task_type, status, input_data, output_data, executed_at, completed_at, triggered_by,
      agent_name, cost_estimate_usd, 'bench_queue', gen_random_uuid()::text, 1
    FROM autonomous_tasks WHERE executed_at >= now() - interval '6 hours' LIMIT $1`,
    params: [10_000],
    write: true,
  });
  // The seed document's queries (MIGRATION_043_SUCCESS.md), with a real workspace id.
  for (const [label, id] of [
    ['busy', ws.busy],
    ['typical', ws.typical],
    ['empty', ws.empty],
  ] as const) {
    cases.push(
      {
        caller: `seed recent tasks (${label} ws)`,
        name: 'recent_10',
        sql: `SELECT task_type, status, duration_ms, cost_estimate_usd, executed_at, agent_name
FROM autonomous_tasks WHERE workspace_id = $1 ORDER BY executed_at DESC LIMIT 10`,
        params: [id],
      },
      {
        caller: `seed dashboard GROUP BY (${label} ws, 24h)`,
        name: 'group_by_type_status',
        sql: `SELECT task_type, status, COUNT(*) as count, AVG(duration_ms) as avg_duration, SUM(cost_estimate_usd) as total_cost
FROM autonomous_tasks WHERE workspace_id = $1 AND executed_at > NOW() - INTERVAL '24 hours'
GROUP BY task_type, status ORDER BY task_type, status`,
        params: [id],
      },
    );
  }
  return cases;
}

/**
 * The busiest workspace and one of median volume (by rows in the last 7 days), a new workspace
 * without rows (created here) and a job id from 30 days ago.
 */
export async function pickWorkspaces(db: Kysely<Database>): Promise<Workspaces> {
  const r = await sql<{ workspace_id: string }>`
    SELECT workspace_id FROM autonomous_tasks
    WHERE workspace_id IS NOT NULL AND executed_at >= now() - interval '7 days'
    GROUP BY workspace_id ORDER BY count(*) DESC`.execute(db);
  const ids = r.rows.map((x) => x.workspace_id);
  const empty = await sql<{ id: string }>`
    INSERT INTO workspaces (org_id, name)
    SELECT org_id, 'bench-empty-' || g FROM (SELECT org_id FROM workspaces LIMIT 1) w, generate_series(1, 2) g
    RETURNING id`.execute(db);
  const job = await sql<{ job_id: string; queue_name: string }>`
    SELECT job_id, queue_name FROM autonomous_tasks
    WHERE executed_at >= now() - interval '30 days' AND job_id IS NOT NULL
    ORDER BY executed_at LIMIT 1`.execute(db);
  return {
    busy: ids[0]!,
    typical: ids[Math.floor(ids.length / 2)]!,
    empty: empty.rows[0]!.id,
    empty2: empty.rows[1]!.id,
    oldJob: { id: job.rows[0]!.job_id, queue: job.rows[0]!.queue_name },
  };
}
