import { randomUUID } from 'node:crypto';
import type { Database } from '@fleet/db';
import { createTestDatabase, type TestDatabase } from '@fleet/testing';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuditWriteError, createAuditWriter, InvalidTaskRowError, type TaskStart } from '../src/index.ts';

let t: TestDatabase;
let workspaceId: string;

beforeAll(async () => {
  t = await createTestDatabase('audit_writer');
  const org = await t.db.insertInto('organizations').values({ name: 'Acme' }).returning('id').executeTakeFirstOrThrow();
  const ws = await t.db
    .insertInto('workspaces')
    .values({ org_id: org.id, name: 'Main' })
    .returning('id')
    .executeTakeFirstOrThrow();
  workspaceId = ws.id;
});
afterAll(() => t.drop());
beforeEach(async () => {
  await t.db.deleteFrom('autonomous_tasks').execute();
});

function start(overrides: Partial<TaskStart> = {}): TaskStart {
  return {
    queueName: 'test_queue',
    jobId: randomUUID(),
    attempt: 1,
    workspaceId,
    taskType: 'lead_scoring_batch',
    agentName: 'test-agent',
    triggeredBy: 'api',
    inputData: { n: 1 },
    executedAt: new Date(),
    jobCreatedAt: new Date(),
    ...overrides,
  };
}

/** A Kysely on its own pool that counts every statement it sends. */
function countingDb(url: string): { db: Kysely<Database>; count: () => number } {
  let statements = 0;
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 4 }) }),
    log(event) {
      if (event.level === 'query') statements++;
    },
  });
  return { db, count: () => statements };
}

describe('audit writer', () => {
  it('records a lifecycle as one row with the start time and a computed duration', async () => {
    const logger = createAuditWriter({ db: t.db, runningDelayMs: 0 });
    const s = start({ executedAt: new Date(Date.now() - 1500) });
    logger.running(s);
    await logger.flush();
    const running = await t.db.selectFrom('autonomous_tasks').selectAll().executeTakeFirstOrThrow();
    expect(running.status).toBe('running');
    await logger.finish(s, { status: 'completed', outputData: { scored: 3 }, costUsd: 0.0123456 });
    const rows = await t.db.selectFrom('autonomous_tasks').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      status: 'completed',
      output_data: { scored: 3 },
      input_data: { n: 1 },
      cost_estimate_usd: '0.012346',
      queue_name: 'test_queue',
      job_id: s.jobId,
      attempt: 1,
      agent_name: 'test-agent',
      triggered_by: 'api',
    });
    expect(rows[0]!.executed_at.getTime()).toBe(s.executedAt.getTime());
    expect(rows[0]!.duration_ms).toBeGreaterThanOrEqual(1500);
    expect(rows[0]!.duration_ms).toBeLessThan(10_000);
    await logger.close();
  });

  it('writes a fast attempt once: the running row merges into the terminal row', async () => {
    const { db, count } = countingDb(t.url);
    const logger = createAuditWriter({ db, runningDelayMs: 60_000 });
    const s = start();
    logger.running(s);
    await logger.finish(s, { status: 'completed' });
    expect(count()).toBe(1);
    expect(logger.stats.merged).toBe(1);
    const rows = await t.db.selectFrom('autonomous_tasks').select(['status']).execute();
    expect(rows).toEqual([{ status: 'completed' }]);
    await logger.close();
    await db.destroy();
  });

  it('gives one row for concurrent duplicate transitions', async () => {
    const logger = createAuditWriter({ db: t.db, runningDelayMs: 0 });
    const s = start();
    await Promise.all([
      logger.pending(s),
      logger.pending(s),
      logger.finish(s, { status: 'completed' }),
      logger.finish(s, { status: 'completed' }),
    ]);
    // and the same transitions replayed by a second writer (another replica) after the fact
    const other = createAuditWriter({ db: t.db, runningDelayMs: 0 });
    await Promise.all([other.pending(s), other.finish(s, { status: 'completed' })]);
    const rows = await t.db.selectFrom('autonomous_tasks').select(['status', 'attempt']).execute();
    expect(rows).toEqual([{ status: 'completed', attempt: 1 }]);
    await Promise.all([logger.close(), other.close()]);
  });

  it('never moves a terminal row back: a late running or pending is ignored, and the first terminal wins', async () => {
    const logger = createAuditWriter({ db: t.db, runningDelayMs: 0 });
    const s = start();
    await logger.finish(s, { status: 'failed', errorMessage: 'boom' });
    logger.running(s);
    await logger.flush();
    await logger.pending(s);
    await logger.finish(s, { status: 'completed' });
    const row = await t.db.selectFrom('autonomous_tasks').selectAll().executeTakeFirstOrThrow();
    expect(row.status).toBe('failed');
    expect(row.error_message).toBe('boom');
    await logger.close();
  });

  it('moves pending to running to terminal, with executed_at at the real start', async () => {
    const logger = createAuditWriter({ db: t.db, runningDelayMs: 0 });
    const queuedAt = new Date(Date.now() - 60_000);
    const s = start({ executedAt: queuedAt });
    await logger.pending(s);
    const startedAt = new Date(Date.now() - 2_000);
    logger.running({ ...s, executedAt: startedAt });
    await logger.flush();
    await logger.finish({ ...s, executedAt: startedAt }, { status: 'partial_failure', outputData: { failed: ['x'] } });
    const row = await t.db.selectFrom('autonomous_tasks').selectAll().executeTakeFirstOrThrow();
    expect(row.status).toBe('partial_failure');
    expect(row.executed_at.getTime()).toBe(startedAt.getTime());
    expect(row.duration_ms).toBeGreaterThanOrEqual(2_000);
    expect(row.duration_ms).toBeLessThan(30_000);
    await logger.close();
  });

  it('1,000 concurrent lifecycles give 1,000 rows in far fewer than 2,000 statements', async () => {
    const { db, count } = countingDb(t.url);
    const logger = createAuditWriter({ db, runningDelayMs: 0 });
    const starts = Array.from({ length: 1_000 }, () => start());
    await Promise.all(
      starts.map(async (s, i) => {
        logger.running(s);
        // let some running rows go out before their terminal row, as in real traffic
        if (i % 2 === 0) await new Promise((r) => setImmediate(r));
        await logger.finish(s, { status: i % 10 === 0 ? 'failed' : 'completed', costUsd: 0.001 });
      }),
    );
    await logger.close();
    const [{ n, cost }] = (await t.db
      .selectFrom('autonomous_tasks')
      .select((eb) => [eb.fn.countAll<string>().as('n'), eb.fn.sum<string>('cost_estimate_usd').as('cost')])
      .where('status', 'in', ['completed', 'failed'])
      .execute()) as [{ n: string; cost: string }];
    expect(Number(n)).toBe(1_000);
    expect(Number(cost)).toBeCloseTo(1, 6);
    const statements = count();
    // Measured, not assumed: reported so a regression is visible in the test output.
    console.info(`1,000 lifecycles: ${statements} statements, largest batch ${logger.stats.largestBatch}`);
    expect(statements).toBe(logger.stats.statements);
    expect(statements).toBeLessThan(100);
    await db.destroy();
  });

  it('keeps the audit row of a job whose workspace does not exist, without failing its batch mates', async () => {
    const logger = createAuditWriter({ db: t.db });
    const ghost = start({ workspaceId: randomUUID() });
    const good = start();
    await Promise.all([
      logger.finish(ghost, { status: 'failed', errorMessage: 'handler failed' }),
      logger.finish(good, { status: 'completed' }),
    ]);
    const rows = await t.db
      .selectFrom('autonomous_tasks')
      .select(['job_id', 'workspace_id', 'status', 'error_message'])
      .orderBy('status')
      .execute();
    expect(rows).toEqual([
      { job_id: good.jobId, workspace_id: workspaceId, status: 'completed', error_message: null },
      {
        job_id: ghost.jobId,
        workspace_id: null,
        status: 'failed',
        error_message: `workspace ${ghost.workspaceId} does not exist; handler failed`,
      },
    ]);
    await logger.close();
  });

  it('rejects a malformed row before it reaches the database, naming the field', async () => {
    const logger = createAuditWriter({ db: t.db });
    await expect(logger.finish(start({ taskType: 'made_up' as never }), { status: 'completed' })).rejects.toThrow(
      InvalidTaskRowError,
    );
    await expect(
      logger.finish(start({ workspaceId: 'kh72b1cng9h88691sx4x7krt2h7v7deh' }), { status: 'completed' }),
    ).rejects.toThrow(/workspaceId must be a UUID/);
    await expect(logger.finish(start(), { status: 'completed', costUsd: Number.NaN })).rejects.toThrow(/costUsd/);
    await logger.close();
  });

  it('rejects with a retryable AuditWriteError when the database is unreachable', async () => {
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({
        pool: new pg.Pool({
          connectionString: 'postgres://postgres@127.0.0.1:1/nowhere',
          connectionTimeoutMillis: 500,
        }),
      }),
    });
    const logger = createAuditWriter({ db, runningDelayMs: 0 });
    const s = start();
    logger.running(s);
    await expect(logger.finish(s, { status: 'completed' })).rejects.toBeInstanceOf(AuditWriteError);
    await logger.close();
    await db.destroy();
  });
});
