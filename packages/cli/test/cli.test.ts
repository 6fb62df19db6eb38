/** The `fleet` command run in-process against a real database and Redis: output and exit codes. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.ts';
import { ExitCode } from '../src/exit-codes.ts';
import { captureIO } from './helpers.ts';

let t: TestDatabase;
let r: TestRedis;
let workspaceId: string;
let env: NodeJS.ProcessEnv;

async function fleet(args: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv } = {}) {
  const io = captureIO(options.stdin);
  const code = await runCli(args, { io, env: options.env ?? env });
  return { code, out: io.out, err: io.err };
}

beforeAll(async () => {
  t = await createTestDatabase('cli');
  r = createTestRedis('cli');
  env = { DATABASE_URL: t.url, REDIS_URL: r.url, QUEUE_PREFIX: r.prefix };
  const org = await t.db.insertInto('organizations').values({ name: 'Org' }).returning('id').executeTakeFirstOrThrow();
  workspaceId = (
    await t.db.insertInto('workspaces').values({ org_id: org.id, name: 'WS' }).returning('id').executeTakeFirstOrThrow()
  ).id;
});

afterAll(async () => {
  await r.cleanup();
  await t.drop();
});

describe('fleet (usage)', () => {
  it('prints help with the exit codes and succeeds', async () => {
    const { code, out } = await fleet(['--help']);
    expect(code).toBe(ExitCode.ok);
    expect(out).toContain('Exit codes:');
    for (const command of ['up', 'migrate', 'enqueue', 'status', 'tasks', 'task', 'retry', 'cancel', 'schedules']) {
      expect(out).toMatch(new RegExp(`\\n  ${command} `));
    }
  });

  it('lists every queue and job with its fields in `enqueue --help`', async () => {
    const { code, out } = await fleet(['enqueue', '--help']);
    expect(code).toBe(ExitCode.ok);
    expect(out).toContain('analytics_queue');
    expect(out).toMatch(/daily_analytics_rollup\s+workspace_id \[date\]/);
  });

  it('exits 2 on an unknown command or option, and with no command', async () => {
    expect((await fleet(['frobnicate'])).code).toBe(ExitCode.usage);
    const bad = await fleet(['tasks', '--colour']);
    expect(bad.code).toBe(ExitCode.usage);
    expect(bad.err).toContain("unknown option '--colour'");
    expect((await fleet([])).code).toBe(ExitCode.usage);
  });

  it('exits 78 naming the variable when the environment is invalid', async () => {
    const { code, err } = await fleet(['status'], { env: { DATABASE_URL: 'mysql://nope', REDIS_URL: r.url } });
    expect(code).toBe(ExitCode.config);
    expect(err).toContain('DATABASE_URL');
  });

  it('exits 69 with the fix when Redis is unreachable', async () => {
    const { code, err } = await fleet(['schedules'], { env: { ...env, REDIS_URL: 'redis://127.0.0.1:1' } });
    expect(code).toBe(ExitCode.unavailable);
    expect(err).toContain('Redis is unreachable at redis://127.0.0.1:1: ECONNREFUSED');
    expect(err).toContain('hint: ');
  });
});

describe('unreachable Postgres', () => {
  it('exits 69 naming DATABASE_URL', async () => {
    const { code, err } = await fleet(['tasks'], {
      env: { ...env, DATABASE_URL: 'postgres://postgres:secret-pw@127.0.0.1:1/fleet' },
    });
    expect(code).toBe(ExitCode.unavailable);
    expect(err).toContain('Postgres is unreachable at postgres://postgres:***@127.0.0.1:1/fleet: ECONNREFUSED');
    expect(err).not.toContain('secret-pw');
  });
});

describe('fleet migrate', () => {
  it('reports an up-to-date database', async () => {
    const { code, out } = await fleet(['migrate', '--json']);
    expect(code).toBe(ExitCode.ok);
    expect(JSON.parse(out)).toEqual({ created_database: false, applied: [], login_roles: [] });
  });

  it('exits 69 with the SQLSTATE and suggests --create-db when the database does not exist', async () => {
    const url = new URL(t.url);
    const name = `fleet_missing_${randomUUID().slice(0, 8)}`;
    url.pathname = `/${name}`;
    for (const command of [['migrate'], ['tasks']]) {
      const { code, err } = await fleet(command, { env: { ...env, DATABASE_URL: url.toString() } });
      expect(code).toBe(ExitCode.unavailable);
      expect(err).toContain(`: 3D000 database "${name}" does not exist`);
      expect(err).toContain('--create-db');
      expect(err).toContain('DATABASE_URL');
      expect(err).not.toContain('    at ');
    }
  });
});

describe('fleet enqueue', () => {
  it('validates before connecting: bad fields exit 65 and are named', async () => {
    const { code, err } = await fleet(
      [
        'enqueue',
        'analytics_queue',
        'daily_analytics_rollup',
        '--data',
        '{"workspace_id":"kh72b1cng9h88691sx4x7krt2h7v7deh","colour":1}',
      ],
      { env: { ...env, REDIS_URL: 'redis://127.0.0.1:1' } },
    );
    expect(code).toBe(ExitCode.invalidPayload);
    expect(err).toContain('workspace_id: must be a workspace UUID');
    expect(err).toContain('colour: is not a known field');
  });

  it('exits 65 on malformed JSON and 3 on an unknown queue or job', async () => {
    expect((await fleet(['enqueue', 'analytics_queue', 'monthly_summary', '--data', '{nope'])).code).toBe(
      ExitCode.invalidPayload,
    );
    const queue = await fleet(['enqueue', 'nope_queue', 'x']);
    expect(queue.code).toBe(ExitCode.notFound);
    expect(queue.err).toContain('known queues: contact_intelligence_queue');
    expect((await fleet(['enqueue', 'analytics_queue', 'nope'])).code).toBe(ExitCode.notFound);
  });

  it('adds the job, writes its pending audit row and prints only the id', async () => {
    const { code, out } = await fleet([
      'enqueue',
      'analytics_queue',
      'daily_analytics_rollup',
      '--data',
      JSON.stringify({ workspace_id: workspaceId, date: '2025-11-17' }),
    ]);
    expect(code).toBe(ExitCode.ok);
    const id = out.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const row = await t.db
      .selectFrom('autonomous_tasks')
      .selectAll()
      .where('job_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'pending', task_type: 'daily_analytics_rollup', triggered_by: 'manual' });
  });

  it('reads the payload from a file and from stdin', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleet-cli-'));
    const file = join(dir, 'payload.json');
    writeFileSync(file, JSON.stringify({ workspace_id: workspaceId }));
    const fromFile = await fleet([
      'enqueue',
      'analytics_queue',
      'weekly_report_generation',
      '--data',
      `@${file}`,
      '--json',
    ]);
    expect(fromFile.code).toBe(ExitCode.ok);
    const enqueued = JSON.parse(fromFile.out);
    expect(enqueued).toMatchObject({ queue: 'analytics_queue', job: 'weekly_report_generation', created: true });
    expect(enqueued.status_url).toBe(`/v1/tasks/${enqueued.job_id}?queue=analytics_queue`);
    const fromStdin = await fleet(['enqueue', 'analytics_queue', 'monthly_summary', '--data', '@-', '--no-audit'], {
      stdin: JSON.stringify({ workspace_id: workspaceId, month: '2025-10' }),
    });
    expect(fromStdin.code).toBe(ExitCode.ok);
    const rows = await t.db
      .selectFrom('autonomous_tasks')
      .select('id')
      .where('job_id', '=', fromStdin.out.trim())
      .execute();
    expect(rows).toEqual([]);
    const missing = await fleet([
      'enqueue',
      'analytics_queue',
      'monthly_summary',
      '--data',
      `@${join(dir, 'nope.json')}`,
    ]);
    expect(missing.code).toBe(ExitCode.usage);
  });
});

describe('tasks, task, cancel, retry, status', () => {
  let jobId: string;

  beforeAll(async () => {
    const { out } = await fleet([
      'enqueue',
      'contact_intelligence_queue',
      'lead_scoring_batch',
      '--data',
      JSON.stringify({ workspace_id: workspaceId }),
    ]);
    jobId = out.trim();
  });

  it('lists tasks newest first, filtered, as a table or JSON', async () => {
    const table = await fleet(['tasks', '--type', 'lead_scoring_batch']);
    expect(table.code).toBe(ExitCode.ok);
    const lines = table.out.trim().split('\n');
    expect(lines[0]).toMatch(/^CREATED\s+ID\s+TASK TYPE\s+STATUS/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(jobId);

    const json = JSON.parse((await fleet(['tasks', '--status', 'pending', '--since', '1h', '--json'])).out);
    const created = json.tasks.map((x: { created_at: string }) => Date.parse(x.created_at));
    expect(created).toEqual([...created].sort((a, b) => b - a));
    expect(json.tasks.length).toBeGreaterThanOrEqual(2);

    expect((await fleet(['tasks', '--status', 'sleeping'])).code).toBe(ExitCode.usage);
    expect((await fleet(['tasks', '--since', 'yesterday-ish'])).code).toBe(ExitCode.usage);
  });

  it('shows one task by job id with input and job state; unknown ids exit 3', async () => {
    const { code, out } = await fleet(['task', jobId]);
    expect(code).toBe(ExitCode.ok);
    expect(out).toMatch(/status:\s+pending/);
    expect(out).toMatch(/job state:\s+waiting/);
    expect(out).toContain(`"workspace_id": "${workspaceId}"`);
    const json = JSON.parse((await fleet(['task', jobId, '--json'])).out);
    expect(json).toMatchObject({
      queue: 'contact_intelligence_queue',
      job_id: jobId,
      task: { status: 'pending' },
      job: { state: 'waiting', attempts_started: 0, max_attempts: 3 },
    });
    const missing = await fleet(['task', 'no-such-job']);
    expect(missing.code).toBe(ExitCode.notFound);
    expect(missing.err).toContain('fleet tasks');
  });

  it('shows queue depths and per-type figures in status', async () => {
    const json = JSON.parse((await fleet(['status', '--json'])).out);
    const q = json.queues.find((x: { queue: string }) => x.queue === 'contact_intelligence_queue');
    expect(q).toMatchObject({ agent: 'contact-intelligence', waiting: 1, active: 0 });
    expect(q.oldest_waiting_ms).toBeGreaterThanOrEqual(0);
    expect(json.window).toEqual({ hours: 24, workspace_id: null, task_type: null });
    expect(json.task_types.map((x: { task_type: string }) => x.task_type)).toContain('lead_scoring_batch');
    expect(Object.keys(json.task_types[0])).toEqual([
      'task_type',
      'total_executions',
      'successful_executions',
      'failed_executions',
      'avg_duration_ms',
      'total_cost_usd',
      'last_execution',
    ]);
    const table = await fleet(['status', '--workspace', workspaceId, '--hours', '2']);
    expect(table.code).toBe(ExitCode.ok);
    expect(table.out).toMatch(/contact_intelligence_queue\s+contact-intelligence\s+1\s+0/);
    expect(table.out).toContain(`Tasks in the last 2 h (workspace ${workspaceId})`);
    expect((await fleet(['status', '--hours', '0'])).code).toBe(ExitCode.usage);
  });

  it('cancels a waiting job once; a second cancel exits 4; retry enqueues it again', async () => {
    const first = await fleet(['cancel', jobId, '--reason', 'test']);
    expect(first.code).toBe(ExitCode.ok);
    expect(first.out).toBe(`cancelled: removed job ${jobId} from contact_intelligence_queue before it ran\n`);
    const row = await t.db
      .selectFrom('autonomous_tasks')
      .selectAll()
      .where('job_id', '=', jobId)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('cancelled');

    const again = await fleet(['cancel', jobId]);
    expect(again.code).toBe(ExitCode.conflict);
    expect(again.err).toContain('already finished');

    const retry = await fleet(['retry', jobId, '--json']);
    expect(retry.code).toBe(ExitCode.ok);
    const result = JSON.parse(retry.out);
    expect(result).toMatchObject({ action: 'requeued', previous_job_id: jobId });
    expect(result.job_id).not.toBe(jobId);
    expect(result.status_url).toBe(`/v1/tasks/${result.job_id}?queue=contact_intelligence_queue`);
  });
});

describe('fleet schedules', () => {
  it("lists the job schedulers of the scheduler's tick queue", async () => {
    const empty = await fleet(['schedules']);
    expect(empty.code).toBe(ExitCode.ok);
    expect(empty.out).toContain('No schedules');

    const connection = new Redis(r.url, { maxRetriesPerRequest: null });
    const ticks = new Queue('fleet_schedule_ticks', { connection, prefix: r.prefix });
    await ticks.upsertJobScheduler(
      'daily_analytics_rollup',
      { pattern: '15 0 * * *', tz: 'Europe/Paris' },
      {
        name: 'tick',
        data: { schedule: 'daily_analytics_rollup', v: 1 },
      },
    );
    await ticks.close();
    connection.disconnect();

    const table = await fleet(['schedules']);
    // BullMQ has created the first tick in advance; it has not run yet.
    expect(table.out).toMatch(/daily_analytics_rollup\s+15 0 \* \* \*\s+Europe\/Paris\s+\S+\s+0\n/);
    const json = JSON.parse((await fleet(['schedules', '--json'])).out);
    expect(json).toEqual([
      expect.objectContaining({
        id: 'daily_analytics_rollup',
        pattern: '15 0 * * *',
        every_ms: null,
        tz: 'Europe/Paris',
        runs: 0,
        data: { schedule: 'daily_analytics_rollup', v: 1 },
      }),
    ]);
  });
});

describe('fleet schedules RUNS', () => {
  it('counts the ticks that ran, not the one BullMQ prepared in advance', async () => {
    const prefix = `${r.prefix.slice(0, -1)}-runs}`;
    const connection = new Redis(r.url, { maxRetriesPerRequest: null });
    const ticks = new Queue('fleet_schedule_ticks', { connection, prefix });
    await ticks.upsertJobScheduler('every_200ms', { every: 200 }, { name: 'tick', data: {} });
    let ran = 0;
    const worker = new Worker('fleet_schedule_ticks', async () => {}, { connection, prefix });
    worker.on('completed', () => {
      ran++;
    });
    await waitFor(() => ran >= 3, { what: 'three ticks' });
    await worker.close();
    const json = JSON.parse((await fleet(['schedules', '--json'], { env: { ...env, QUEUE_PREFIX: prefix } })).out);
    expect(json[0]).toMatchObject({ id: 'every_200ms', every_ms: 200, runs: ran });
    await ticks.obliterate({ force: true });
    await ticks.close();
    connection.disconnect();
  });
});

describe('fleet api-keys', () => {
  it('creates a key printed once, lists it without the key, revokes it; --json as the API', async () => {
    const created = await fleet(['api-keys', 'create', '--name', 'reports', '--workspace', workspaceId]);
    expect(created.code).toBe(ExitCode.ok);
    const key = created.out.trim();
    expect(key).toMatch(/^fleet_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
    expect(created.err).toContain('shown only this once');
    const stored = await t.db
      .selectFrom('api_keys')
      .selectAll()
      .where('name', '=', 'reports')
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(stored)).not.toContain(key.slice(15));
    expect(stored.workspace_ids).toEqual([workspaceId]);

    const list = await fleet(['api-keys', 'list']);
    expect(list.out).toMatch(new RegExp(`${stored.id}\\s+${stored.key_prefix}\\s+reports\\s+${workspaceId}`));
    expect(list.out).not.toContain(key);
    const listed = JSON.parse((await fleet(['api-keys', 'list', '--json'])).out);
    expect(Object.keys(listed.api_keys[0])).toEqual([
      'id',
      'name',
      'key_prefix',
      'workspace_ids',
      'created_at',
      'last_used_at',
      'revoked_at',
    ]);

    const two = JSON.parse(
      (await fleet(['api-keys', 'create', '--name', 'two', '-w', workspaceId, '-w', randomUUID(), '--json'])).out,
    );
    expect(two.key).toMatch(/^fleet_/);
    expect(two.workspace_ids).toHaveLength(2);

    const revoked = JSON.parse((await fleet(['api-keys', 'revoke', stored.id, '--json'])).out);
    expect(revoked).toMatchObject({ id: stored.id, revoked_at: expect.any(String) });
    expect((await fleet(['api-keys', 'revoke', stored.id])).code).toBe(ExitCode.notFound);
  });

  it('names the bad field and needs --name and --workspace', async () => {
    const bad = await fleet(['api-keys', 'create', '--name', 'x', '--workspace', 'not-a-uuid']);
    expect(bad.code).toBe(ExitCode.usage);
    expect(bad.err).toContain('workspace_ids.0: must be a workspace UUID');
    expect((await fleet(['api-keys', 'create', '--name', 'x'])).code).toBe(ExitCode.usage);
  });
});
