/**
 * Process mode end to end: `fleet up` migrates, starts every agent of the registry and the
 * control plane through docker/entrypoint.sh, one job per task type of the catalog goes in,
 * every audit row reaches a terminal state, and SIGTERM stops the whole fleet cleanly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { catalog, jobsOf, QUEUE_NAMES, validatePayload } from '@fleet/catalog';
import { createProducer, type Producer } from '@fleet/queues';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetRegistry, isPresent, REPO_ROOT } from '../src/fleet/registry.ts';

const TERMINAL = new Set(['completed', 'failed', 'partial_failure', 'cancelled']);
/** No outside service is reachable from tests: providers point at a closed local port. */
const CLOSED = 'http://127.0.0.1:9';

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let fleet: ChildProcess;
let output = '';
let exit: Promise<number | null>;
let workspaceId: string;

/**
 * A valid payload for a job: the first of a few candidates its schema accepts. A new job whose
 * schema none of them fits needs a sample here; the test says so.
 */
function samplePayload(queue: string, job: string): Record<string, unknown> {
  const candidates = [
    { workspace_id: workspaceId },
    { workspace_id: workspaceId, account_id: randomUUID() },
    { workspace_id: workspaceId, media_file_id: randomUUID() },
    { workspace_id: workspaceId, calendar_id: randomUUID() },
    {},
  ];
  for (const candidate of candidates) {
    try {
      validatePayload(queue, job, candidate);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(`no sample payload fits ${queue}/${job}: add one to samplePayload() in ${import.meta.url}`);
}

beforeAll(async () => {
  t = await createTestDatabase('fleet_up');
  r = createTestRedis('fleet-up');
  const org = await t.db.insertInto('organizations').values({ name: 'Org' }).returning('id').executeTakeFirstOrThrow();
  workspaceId = (
    await t.db.insertInto('workspaces').values({ org_id: org.id, name: 'WS' }).returning('id').executeTakeFirstOrThrow()
  ).id;
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });

  fleet = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(REPO_ROOT, 'packages/cli/src/main.ts'),
      'up',
      '--base-port',
      '0',
      '--control-plane-port',
      '0',
      '--stop-grace',
      '20000',
    ],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATABASE_URL: t.url,
        REDIS_URL: r.url,
        QUEUE_PREFIX: r.prefix,
        LOG_LEVEL: 'warn',
        LOG_PRETTY: 'false',
        RECONCILE_INTERVAL_MS: '1000',
        ADMIN_API_KEY: 'fleet-e2e-admin-key-0123456789abcdef',
        GOOGLE_CLIENT_ID: 'e2e.apps.googleusercontent.com',
        GOOGLE_CLIENT_SECRET: 'e2e-secret',
        MAIL_TOKEN_ENCRYPTION_KEY: 'ab'.repeat(32),
        GOOGLE_OAUTH_TOKEN_URL: `${CLOSED}/token`,
        GMAIL_API_BASE_URL: `${CLOSED}/gmail/v1`,
        TRANSCRIPTION_BASE_URL: `${CLOSED}/v1`,
        ANTHROPIC_BASE_URL: CLOSED,
        ENRICHMENT_PROVIDER: 'none',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  fleet.stdout!.on('data', (chunk) => {
    output += chunk;
  });
  fleet.stderr!.on('data', (chunk) => {
    output += chunk;
  });
  exit = new Promise((resolve) => fleet.once('exit', (code) => resolve(code)));
}, 60_000);

afterAll(async () => {
  if (fleet.exitCode === null && fleet.signalCode === null) {
    fleet.kill('SIGTERM');
    await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, 25_000))]);
    fleet.kill('SIGKILL');
  }
  await producer?.close();
  await r.cleanup();
  await t.drop();
});

describe('fleet up (process mode)', () => {
  it('runs one job of every task type to a terminal audit row, then stops cleanly on SIGTERM', async () => {
    const components = fleetRegistry();
    // Every agent of the catalog has landed; the runner would skip a missing one.
    expect(components.filter((c) => !isPresent(c)).map((c) => c.entry)).toEqual([]);

    const ready = await waitFor(() => /fleet ready: (\d+) of (\d+) processes healthy/.exec(output) ?? undefined, {
      timeoutMs: 90_000,
      intervalMs: 100,
      what: `"fleet ready" from fleet up; output so far:\n${output.slice(-3000)}`,
    }).catch((error) => {
      throw new Error(`${(error as Error).message}\n--- fleet output ---\n${output.slice(-4000)}`);
    });
    expect(ready[1], output.slice(-3000)).toBe(String(components.length));
    expect(ready[2]).toBe(String(components.length));
    for (const c of components) expect(output).toContain(`${c.name}=http://127.0.0.1:`);

    const jobs: { queue: string; job: string; jobId: string }[] = [];
    for (const queue of QUEUE_NAMES) {
      for (const job of Object.keys(catalog[queue].jobs)) {
        const { jobId } = await producer.enqueueRaw(queue, job, samplePayload(queue, job), { triggeredBy: 'manual' });
        jobs.push({ queue, job, jobId });
      }
    }
    const taskTypes = new Set(QUEUE_NAMES.flatMap((q) => jobsOf(q).map(([, d]) => d.taskType)));
    expect(jobs).toHaveLength(taskTypes.size);

    // Terminal: the job is finished in BullMQ (no retry pending) and its latest attempt's row is closed.
    const latest = async () => {
      const rows = await t.db
        .selectFrom('autonomous_tasks')
        .select(['job_id', 'task_type', 'status', 'attempt', 'error_message'])
        .where(
          'job_id',
          'in',
          jobs.map((j) => j.jobId),
        )
        .orderBy('attempt', 'desc')
        .execute();
      return jobs.map((j) => ({ ...j, row: rows.find((row) => row.job_id === j.jobId) }));
    };
    const done = await waitFor(
      async () => {
        const states = await Promise.all(
          jobs.map(async (j) => (await producer.queue(j.queue as never).getJob(j.jobId))?.getState()),
        );
        const current = await latest();
        const finished = current.every(
          (c, i) => c.row && TERMINAL.has(c.row.status) && ['completed', 'failed', undefined].includes(states[i]),
        );
        return finished ? current : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'every job to reach a terminal audit row' },
    ).catch(async (error) => {
      const current = await latest();
      throw new Error(
        `${(error as Error).message}\n${current.map((c) => `${c.queue}/${c.job}: ${c.row?.status ?? 'no row'} (attempt ${c.row?.attempt})`).join('\n')}\n--- fleet output ---\n${output.slice(-4000)}`,
      );
    });
    expect(new Set(done.map((d) => d.row!.task_type))).toEqual(taskTypes);
    // Jobs that need nothing beyond the seeded workspace complete.
    const byType = Object.fromEntries(done.map((d) => [d.row!.task_type, d.row!]));
    for (const type of ['system_health_check', 'daily_analytics_rollup', 'lead_scoring_batch']) {
      expect(byType[type]?.status, `${type}: ${byType[type]?.error_message}`).toBe('completed');
    }
    // No process crashed along the way.
    expect(output).not.toMatch(/exited with code \d+; restarting/);

    fleet.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(output).toContain('all stopped');
    expect(output.match(/: stopped \(code 0\)/g)).toHaveLength(components.length);
  }, 180_000);
});
