/** The `fleet` command run in-process against a real database and Redis: output and exit codes. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@fleet/testing';
import { Queue } from 'bullmq';
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
    expect(err).toContain('Redis is unreachable at redis://127.0.0.1:1');
    expect(err).toContain('hint: ');
  });
});

describe('unreachable Postgres', () => {
  it('exits 69 naming DATABASE_URL', async () => {
    const { code, err } = await fleet(['tasks'], {
      env: { ...env, DATABASE_URL: 'postgres://postgres:secret-pw@127.0.0.1:1/fleet' },
    });
    expect(code).toBe(ExitCode.unavailable);
    expect(err).toContain('Postgres is unreachable at postgres://postgres:***@127.0.0.1:1/fleet');
    expect(err).not.toContain('secret-pw');
  });
});

describe('fleet migrate', () => {
  it('reports an up-to-date database', async () => {
    const { code, out } = await fleet(['migrate', '--json']);
    expect(code).toBe(ExitCode.ok);
    expect(JSON.parse(out)).toEqual({ createdDatabase: false, applied: [], loginRoles: [] });
  });

  it('exits 69 and suggests --create-db when the database does not exist', async () => {
    const url = new URL(t.url);
    url.pathname = `/fleet_missing_${randomUUID().slice(0, 8)}`;
    const { code, err } = await fleet(['migrate'], { env: { ...env, DATABASE_URL: url.toString() } });
    expect(code).toBe(ExitCode.unavailable);
    expect(err).toContain('--create-db');
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
    expect(JSON.parse(fromFile.out)).toMatchObject({
      queue: 'analytics_queue',
      jobName: 'weekly_report_generation',
      created: true,
    });
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
    expect(json).toMatchObject({ queue: 'contact_intelligence_queue', jobId, task: { status: 'pending' } });
    const missing = await fleet(['task', 'no-such-job']);
    expect(missing.code).toBe(ExitCode.notFound);
    expect(missing.err).toContain('fleet tasks');
  });

  it('shows queue depths and per-type figures in status', async () => {
    const json = JSON.parse((await fleet(['status', '--json'])).out);
    const q = json.queues.find((x: { queue: string }) => x.queue === 'contact_intelligence_queue');
    expect(q).toMatchObject({ agent: 'contact-intelligence', waiting: 1, active: 0 });
    expect(q.oldestWaitingMs).toBeGreaterThanOrEqual(0);
    expect(json.taskTypes.map((x: { taskType: string }) => x.taskType)).toContain('lead_scoring_batch');
    const table = await fleet(['status', '--workspace', workspaceId, '--hours', '2']);
    expect(table.code).toBe(ExitCode.ok);
    expect(table.out).toMatch(/contact_intelligence_queue\s+contact-intelligence\s+1\s+0/);
    expect(table.out).toContain(`Tasks in the last 2 h (workspace ${workspaceId})`);
    expect((await fleet(['status', '--hours', '0'])).code).toBe(ExitCode.usage);
  });

  it('cancels a waiting job once; a second cancel exits 4; retry enqueues it again', async () => {
    const first = await fleet(['cancel', jobId, '--reason', 'test']);
    expect(first.code).toBe(ExitCode.ok);
    expect(first.out).toContain('removed waiting job');
    const row = await t.db
      .selectFrom('autonomous_tasks')
      .selectAll()
      .where('job_id', '=', jobId)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('cancelled');

    const again = await fleet(['cancel', jobId]);
    expect(again.code).toBe(ExitCode.conflict);

    const retry = await fleet(['retry', jobId, '--json']);
    expect(retry.code).toBe(ExitCode.ok);
    const result = JSON.parse(retry.out);
    expect(result).toMatchObject({ action: 'requeued', previousJobId: jobId });
    expect(result.jobId).not.toBe(jobId);
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
    expect(table.out).toMatch(/daily_analytics_rollup\s+15 0 \* \* \*\s+Europe\/Paris/);
    const json = JSON.parse((await fleet(['schedules', '--json'])).out);
    expect(json).toEqual([
      expect.objectContaining({
        id: 'daily_analytics_rollup',
        pattern: '15 0 * * *',
        tz: 'Europe/Paris',
        data: { schedule: 'daily_analytics_rollup', v: 1 },
      }),
    ]);
  });
});
