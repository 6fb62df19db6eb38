/**
 * Capacity figures for docs/scaling.md, from the agents' real handlers with local stub providers.
 *
 * On a Postgres and a redis-server of the run's own (started here in a temp dir, stopped after),
 * so the CPU they spend is this run's alone on a shared machine: for each agent's typical job,
 * JOBS jobs go through the producer (pending row), the agent (startAgent, in this process) and its
 * audit row, and the CPU of Node (this process: agent, producer and the stub provider), Postgres
 * (the postmaster and its backends) and Redis is read from /proc. CPU per job, not wall time, is
 * the figure: wall time on a loaded 2-core box says more about the neighbours than the fleet.
 * Then: audit row writes per Postgres CPU second, bytes per audit row with its indexes, Redis
 * memory per waiting and per retained completed job (measured on thousands, extrapolated to 1M),
 * and the connections one replica of each agent opens.
 *
 *   npx tsx bench/capacity.ts [--jobs 200] [--waiting 20000] [--audit-rows 20000]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAuditWriter } from '@fleet/audit-writer';
import type { QueueName } from '@fleet/catalog';
import { createDb, type Database, migrateToLatest } from '@fleet/db';
import { createProducer, createRedis, type Producer } from '@fleet/queues';
import { type AnyAgent, startAgent } from '@fleet/runtime';
import { type Kysely, sql } from 'kysely';
import analytics from '../agents/analytics/src/index.ts';
import contactIntelligence from '../agents/contact-intelligence/src/index.ts';
import { personBody, startStubProvider } from '../agents/contact-intelligence/test/stub-provider.ts';
import continuousIntelligence from '../agents/continuous-intelligence/src/index.ts';
import { SAMPLE_EMAILS } from '../agents/continuous-intelligence/test/seed.ts';
import emailIntegration from '../agents/email-integration/src/index.ts';
import { addMailAccount } from '../agents/email-integration/src/mail-accounts.ts';
import { GmailStub } from '../agents/email-integration/test/gmail-stub.ts';
import { ACCOUNT, deliverStandardMailbox } from '../agents/email-integration/test/helpers.ts';
import mediaTranscription from '../agents/media-transcription/src/index.ts';
import { makeWav, startTranscriptionStub } from '../agents/media-transcription/test/fixtures.ts';
import { machine, round, sleep } from './support.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '200' },
    waiting: { type: 'string', default: '20000' },
    'audit-rows': { type: 'string', default: '20000' },
  },
});
const JOBS = Number(values.jobs);
const TICK = 100; // clock ticks per second (/proc/<pid>/stat)

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** utime+stime of a process, and of its reaped children when `children`, in seconds. */
function cpuOf(pid: number, children = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const own = Number(f[11]) + Number(f[12]);
    return (children ? own + Number(f[13]) + Number(f[14]) : own) / TICK;
  } catch {
    return 0;
  }
}

/** CPU seconds of a process tree: the root (with what its exited children used) plus live children. */
function treeCpu(root: number): number {
  let total = cpuOf(root, true);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === root) total += cpuOf(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

/** A Postgres 15 of this run's own: initdb in a temp dir, trust auth, fsync on (the default). */
async function startPostgres() {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-capacity-pg-'));
  const port = await freePort();
  const bin = '/usr/lib/postgresql/15/bin';
  const asPostgres = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  if (asPostgres.length) execFileSync('chown', ['postgres', dir]);
  const run = (cmd: string[]) => execFileSync(cmd[0]!, cmd.slice(1), { stdio: 'pipe' });
  run([...asPostgres, `${bin}/initdb`, '-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '-E', 'UTF8']);
  const child: ChildProcess = spawn(
    asPostgres[0] ?? `${bin}/postgres`,
    [
      ...(asPostgres.length ? [...asPostgres.slice(1), `${bin}/postgres`] : []),
      ...['-D', join(dir, 'data'), '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1'],
      ...['-c', 'max_connections=200', '-c', 'shared_buffers=256MB'],
    ],
    { stdio: 'ignore' },
  );
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;
  for (let i = 0; ; i++) {
    try {
      execFileSync(`${bin}/pg_isready`, ['-h', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
      break;
    } catch {
      if (i > 200) throw new Error('own Postgres did not start');
      await sleep(50);
    }
  }
  const pid = Number((await readFile(join(dir, 'data', 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const c = createDb(admin, { max: 1 });
  await sql`CREATE DATABASE fleet`.execute(c);
  await c.destroy();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/fleet`,
    pid,
    async stop() {
      process.kill(pid, 'SIGINT');
      await new Promise((resolve) => child.once('exit', resolve));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function startRedis() {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  const probe = createRedis(url, 'producer');
  for (let i = 0; ; i++) {
    try {
      await probe.ping();
      break;
    } catch {
      if (i > 200) throw new Error('own Redis did not start');
      await sleep(50);
    }
  }
  return {
    url,
    pid: child.pid!,
    admin: probe,
    async stop() {
      probe.disconnect();
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

interface Scenario {
  job: string;
  queue: QueueName;
  agent: AnyAgent;
  env: Record<string, string>;
  /** Seeds what the jobs read; returns one payload per job. */
  seed(db: Kysely<Database>): Promise<Record<string, unknown>[]>;
  /** What the typical job is, in words. */
  typical: string;
}

async function workspaces(db: Kysely<Database>, n: number): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`
    WITH o AS (INSERT INTO organizations (name) VALUES ('capacity') RETURNING id)
    INSERT INTO workspaces (org_id, name) SELECT o.id, 'ws ' || g FROM o, generate_series(1, ${n}) g RETURNING id`.execute(
    db,
  );
  return rows.map((r) => r.id);
}

async function main() {
  const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  const db = createDb(pg.url, { max: 4 });
  await migrateToLatest(db);
  const enrichmentKey = 'sk_capacity';
  const enrichment = await startStubProvider(enrichmentKey, {
    'dana@northwind.io': {
      status: 200,
      body: personBody({ given: 'Dana', family: 'Scully', title: 'CTO', company: 'Northwind' }),
    },
  });
  const gmail = new GmailStub();
  await gmail.start();
  deliverStandardMailbox(gmail);
  const transcription = await startTranscriptionStub();
  const mediaRoot = await mkdtemp(join(tmpdir(), 'fleet-capacity-media-'));
  await writeFile(join(mediaRoot, 'call.wav'), makeWav({ seconds: 30 }));
  const mailKey = randomBytes(32);
  const day = '2026-03-10';

  const scenarios: Scenario[] = [
    {
      job: 'continuous_intelligence_update',
      queue: 'continuous_intelligence_queue',
      agent: continuousIntelligence,
      env: {},
      typical: '5 new inbound emails per workspace (30 min of mail), offline heuristic extractor',
      async seed(d) {
        const ws = await workspaces(d, JOBS);
        const emails = ws.flatMap((w, i) =>
          Array.from({ length: 5 }, (_, k) => {
            const e = SAMPLE_EMAILS[(i + k) % SAMPLE_EMAILS.length]!;
            return {
              workspace_id: w,
              provider_message_id: `cap-${i}-${k}-${randomUUID()}`,
              direction: 'inbound' as const,
              from_address: e.from,
              to_addresses: ['tom@ourco.com'],
              subject: e.subject,
              body_text: e.body,
              sent_at: new Date(`${day}T1${k}:00:00Z`),
            };
          }),
        );
        await d.insertInto('emails').values(emails).execute();
        return ws.map((w) => ({ workspace_id: w }));
      },
    },
    {
      job: 'email_sync',
      queue: 'email_integration_queue',
      agent: emailIntegration,
      env: {
        GOOGLE_CLIENT_ID: gmail.clientId,
        GOOGLE_CLIENT_SECRET: gmail.clientSecret,
        GOOGLE_OAUTH_TOKEN_URL: gmail.tokenUrl,
        GMAIL_API_BASE_URL: gmail.apiBaseUrl,
        MAIL_TOKEN_ENCRYPTION_KEY: mailKey.toString('base64'),
        MAIL_FULL_SYNC_LOOKBACK_DAYS: '36500',
      },
      typical: 'a Gmail account (stub) with 5 messages in 3 threads, synced in full',
      async seed(d) {
        const ws = await workspaces(d, JOBS);
        const out: Record<string, unknown>[] = [];
        for (const w of ws) {
          const refreshToken = `1//cap-${randomBytes(6).toString('hex')}`;
          gmail.validRefreshTokens.add(refreshToken);
          const accountId = await addMailAccount(d, mailKey, { workspaceId: w, emailAddress: ACCOUNT, refreshToken });
          out.push({ workspace_id: w, account_id: accountId });
        }
        return out;
      },
    },
    {
      job: 'lead_scoring_batch',
      queue: 'contact_intelligence_queue',
      agent: contactIntelligence,
      env: {},
      typical: '50 contacts per workspace with 2 emails each',
      async seed(d) {
        const ws = await workspaces(d, JOBS);
        await sql`
          INSERT INTO contacts (workspace_id, email, first_name, job_title, company)
          SELECT w, 'c' || g || '@acme' || (g % 7) || '.io', 'C' || g,
                 (ARRAY['CEO','VP Sales','Engineer','Intern','Director of IT'])[1 + g % 5], 'Acme'
          FROM unnest(${ws}::uuid[]) w, generate_series(1, 50) g`.execute(d);
        await sql`
          INSERT INTO emails (workspace_id, contact_id, provider_message_id, direction, from_address, subject, body_text, sent_at)
          SELECT c.workspace_id, c.id, 'lead-' || c.id || '-' || k, CASE WHEN k = 1 THEN 'inbound' ELSE 'outbound' END,
                 c.email, 'Hello', 'Pricing question', now() - make_interval(days => k)
          FROM contacts c, generate_series(1, 2) k WHERE c.workspace_id = ANY(${ws}::uuid[])`.execute(d);
        return ws.map((w) => ({ workspace_id: w }));
      },
    },
    {
      job: 'daily_analytics_rollup',
      queue: 'analytics_queue',
      agent: analytics,
      env: {},
      typical: 'one day of a workspace with 20 emails',
      async seed(d) {
        const ws = await workspaces(d, JOBS);
        await sql`
          INSERT INTO emails (workspace_id, provider_message_id, direction, from_address, subject, body_text, sent_at)
          SELECT w, 'day-' || w || '-' || k, CASE WHEN k % 2 = 0 THEN 'inbound' ELSE 'outbound' END,
                 'x@y.io', 'Hi', 'Body', ${day}::date + make_interval(mins => k * 30)
          FROM unnest(${ws}::uuid[]) w, generate_series(1, 20) k`.execute(d);
        return ws.map((w) => ({ workspace_id: w, date: day }));
      },
    },
    {
      job: 'contact_enrichment',
      queue: 'contact_intelligence_queue',
      agent: contactIntelligence,
      env: { ENRICHMENT_PROVIDER: 'http', ENRICHMENT_BASE_URL: enrichment.url, ENRICHMENT_API_KEY: enrichmentKey },
      typical: '3 contacts per workspace looked up at the provider (stub), one match',
      async seed(d) {
        const ws = await workspaces(d, JOBS);
        await sql`
          INSERT INTO contacts (workspace_id, email)
          SELECT w, e FROM unnest(${ws}::uuid[]) w,
                 unnest(ARRAY['dana@northwind.io', 'nobody@northwind.io', 'sales@northwind.io']) e`.execute(d);
        return ws.map((w) => ({ workspace_id: w }));
      },
    },
    {
      job: 'media_transcription',
      queue: 'media_transcription_queue',
      agent: mediaTranscription,
      env: {
        TRANSCRIPTION_BASE_URL: transcription.baseUrl,
        TRANSCRIPTION_API_KEY: 'sk-capacity',
        MEDIA_ROOT: mediaRoot,
      },
      typical: 'a 30 s WAV (0.5 MB) probed, uploaded to the API (stub) and its segments stored',
      async seed(d) {
        const ws = await workspaces(d, JOBS);
        const files = await d
          .insertInto('media_files')
          .values(ws.map((w) => ({ workspace_id: w, source: 'call.wav', file_name: 'call.wav' })))
          .returning(['id', 'workspace_id'])
          .execute();
        return files.map((f) => ({ workspace_id: f.workspace_id, media_file_id: f.id }));
      },
    },
  ];

  const results: Record<string, unknown>[] = [];
  const connections: Record<string, unknown> = {};
  const retained: Record<string, unknown> = {};
  for (const s of scenarios) {
    const prefix = `{cap-${s.job}}`;
    const payloads = await s.seed(db);
    const producer: Producer = createProducer({ redis: redis.url, prefix, db });
    await producer.queue(s.queue).waitUntilReady();
    const redisClientsBefore = Number(/connected_clients:(\d+)/.exec(await redis.admin.info('clients'))![1]);
    const agent = await startAgent(s.agent, {
      env: {
        DATABASE_URL: pg.url,
        REDIS_URL: redis.url,
        QUEUE_PREFIX: prefix,
        HTTP_PORT: '0',
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        LOG_PRETTY: 'false',
        METRICS_PROCESS: 'false',
        ...s.env,
      },
    });
    const redisClients =
      Number(/connected_clients:(\d+)/.exec(await redis.admin.info('clients'))![1]) - redisClientsBefore;
    // What the idle agent costs per second (stalled checks, blocking fetches, probes, sweeps):
    // measured over a quiet window and subtracted, so the figures are per job, not per second.
    const idle0 = { node: process.cpuUsage(), pg: treeCpu(pg.pid), redis: cpuOf(redis.pid), at: performance.now() };
    await sleep(3_000);
    const idleNode = process.cpuUsage(idle0.node);
    const idleS = (performance.now() - idle0.at) / 1000;
    const idle = {
      node: (idleNode.user + idleNode.system) / 1e6 / idleS,
      pg: (treeCpu(pg.pid) - idle0.pg) / idleS,
      redis: (cpuOf(redis.pid) - idle0.redis) / idleS,
    };
    const cpu0 = { node: process.cpuUsage(), pg: treeCpu(pg.pid), redis: cpuOf(redis.pid) };
    const t0 = performance.now();
    let pgPeak = 0;
    const ids: string[] = [];
    for (let i = 0; i < payloads.length; i += 50) {
      const batch = await Promise.all(
        payloads.slice(i, i + 50).map((p) => producer.enqueueRaw(s.queue, s.job, p, { triggeredBy: 'cron' })),
      );
      ids.push(...batch.map((b) => b.jobId));
    }
    for (;;) {
      const { rows } = await sql<{ done: number; conns: number }>`
        SELECT (SELECT count(*)::int FROM autonomous_tasks WHERE job_id = ANY(${ids}) AND status NOT IN ('pending', 'running')) AS done,
               (SELECT count(*)::int FROM pg_stat_activity WHERE application_name LIKE ${`fleet-${s.agent.name}%`}) AS conns`.execute(
        db,
      );
      pgPeak = Math.max(pgPeak, rows[0]!.conns);
      if (rows[0]!.done >= ids.length) break;
      await sleep(100);
    }
    const wall = (performance.now() - t0) / 1000;
    const node = process.cpuUsage(cpu0.node);
    const cpu = {
      node: Math.max(0, (node.user + node.system) / 1e6 - idle.node * wall),
      pg: Math.max(0, treeCpu(pg.pid) - cpu0.pg - idle.pg * wall),
      redis: Math.max(0, cpuOf(redis.pid) - cpu0.redis - idle.redis * wall),
    };
    const statuses = await db
      .selectFrom('autonomous_tasks')
      .select((eb) => ['status', eb.fn.countAll<string>().as('n')])
      .where('job_id', 'in', ids)
      .groupBy('status')
      .execute();
    const perJobMs = (x: number) => round((x / ids.length) * 1000, 2);
    const total = cpu.node + cpu.pg + cpu.redis;
    results.push({
      job: s.job,
      typical: s.typical,
      jobs: ids.length,
      statuses: Object.fromEntries(statuses.map((r) => [r.status, Number(r.n)])),
      wall_s: round(wall, 1),
      idle_cpu_ms_per_s: {
        node: round(idle.node * 1000, 1),
        postgres: round(idle.pg * 1000, 1),
        redis: round(idle.redis * 1000, 1),
      },
      cpu_ms_per_job: { node: perJobMs(cpu.node), postgres: perJobMs(cpu.pg), redis: perJobMs(cpu.redis) },
      jobs_per_core_s: {
        node: round(ids.length / cpu.node, 0),
        postgres: round(ids.length / cpu.pg, 0),
        redis: round(ids.length / cpu.redis, 0),
        all: round(ids.length / total, 0),
      },
    });
    connections[s.agent.name] = { redis: redisClients, postgres_peak: pgPeak };

    // Retained completed jobs: every key of each job (its hash, logs) plus its share of the set.
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.admin.scan(cursor, 'MATCH', `${prefix}:${s.queue}:*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    const idSet = new Set(ids);
    let jobBytes = 0;
    for (const k of keys) {
      const id = k.slice(`${prefix}:${s.queue}:`.length).split(':')[0]!;
      if (idSet.has(id)) jobBytes += Number(await redis.admin.memory('USAGE', k, 'SAMPLES', '0'));
    }
    const setBytes = Number(await redis.admin.memory('USAGE', `${prefix}:${s.queue}:completed`, 'SAMPLES', '0'));
    retained[s.job] = round((jobBytes + setBytes) / ids.length, 0);

    await agent.close(10_000);
    await producer.close();
    console.error(JSON.stringify(results.at(-1)));
  }

  // Redis memory per waiting job: jobs added to a queue no worker serves.
  const waitingPrefix = '{cap-waiting}';
  const waitingProducer = createProducer({ redis: redis.url, prefix: waitingPrefix });
  await waitingProducer.queue('continuous_intelligence_queue').waitUntilReady();
  const memBefore = Number(/used_memory:(\d+)/.exec(await redis.admin.info('memory'))![1]);
  const waitingJobs = Number(values.waiting);
  const ws0 = randomUUID();
  for (let i = 0; i < waitingJobs; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, waitingJobs - i) }, () =>
        waitingProducer.enqueue(
          'continuous_intelligence_queue',
          'continuous_intelligence_update',
          { workspace_id: ws0 },
          { triggeredBy: 'cron' },
        ),
      ),
    );
  }
  const memAfter = Number(/used_memory:(\d+)/.exec(await redis.admin.info('memory'))![1]);
  await waitingProducer.close();

  // Audit row writes per Postgres CPU second: terminal rows (one write per attempt, as the runtime
  // writes attempts shorter than AUDIT_RUNNING_DELAY_MS), 200 callers at once.
  const writerDb = createDb(pg.url, { max: 2 });
  const logger = createAuditWriter({ db: writerDb });
  const auditRows = Number(values['audit-rows']);
  // The rows the agents wrote above, repeated: the table then holds the real mix of inputs and outputs.
  const samples = await db
    .selectFrom('autonomous_tasks')
    .select(['queue_name', 'task_type', 'agent_name', 'workspace_id', 'input_data', 'output_data', 'cost_estimate_usd'])
    .where('status', '=', 'completed')
    .execute();
  const pgCpu0 = treeCpu(pg.pid);
  const a0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 200 }, async () => {
      while (next < auditRows) {
        const sample = samples[next++ % samples.length]!;
        const start = {
          queueName: sample.queue_name!,
          jobId: randomUUID(),
          attempt: 1,
          workspaceId: sample.workspace_id,
          taskType: sample.task_type,
          agentName: sample.agent_name,
          triggeredBy: 'cron',
          inputData: sample.input_data as never,
          jobCreatedAt: new Date(),
          executedAt: new Date(),
        };
        await logger.finish(start, {
          status: 'completed',
          outputData: sample.output_data as never,
          costUsd: Number(sample.cost_estimate_usd ?? 0),
        });
      }
    }),
  );
  const auditWall = (performance.now() - a0) / 1000;
  const auditPgCpu = treeCpu(pg.pid) - pgCpu0;
  await logger.close();
  await writerDb.destroy();

  // Bytes per audit row: table, TOAST and every index, over every row this run wrote.
  const { rows: size } = await sql<{ rows: number; heap: string; indexes: string; total: string }>`
    SELECT (SELECT count(*)::int FROM autonomous_tasks) AS rows,
           pg_table_size('autonomous_tasks') AS heap,
           pg_indexes_size('autonomous_tasks') AS indexes,
           pg_total_relation_size('autonomous_tasks') AS total`.execute(db);
  const { rows: byType } = await sql<{ task_type: string; avg: number }>`
    SELECT task_type, avg(pg_column_size(t.*))::int AS avg FROM autonomous_tasks t GROUP BY 1 ORDER BY 1`.execute(db);
  const { rows: indexList } = await sql<{ indexname: string }>`
    SELECT indexname FROM pg_indexes WHERE tablename = 'autonomous_tasks' ORDER BY 1`.execute(db);

  const report = {
    machine: machine(),
    jobs_per_type: JOBS,
    agents: results,
    connections_per_replica: connections,
    redis: {
      waiting_jobs_measured: waitingJobs,
      bytes_per_waiting_job: round((memAfter - memBefore) / waitingJobs, 0),
      mib_per_1m_waiting: round((((memAfter - memBefore) / waitingJobs) * 1e6) / 2 ** 20, 0),
      bytes_per_retained_completed_job: retained,
    },
    audit_writes: {
      rows: auditRows,
      wall_s: round(auditWall, 1),
      postgres_cpu_s: round(auditPgCpu, 2),
      rows_per_postgres_core_s: round(auditRows / auditPgCpu, 0),
      us_per_row: round((auditPgCpu / auditRows) * 1e6, 1),
    },
    audit_table: {
      rows: size[0]!.rows,
      bytes_per_row_heap: round(Number(size[0]!.heap) / size[0]!.rows, 0),
      bytes_per_row_indexes: round(Number(size[0]!.indexes) / size[0]!.rows, 0),
      bytes_per_row_total: round(Number(size[0]!.total) / size[0]!.rows, 0),
      indexes: indexList.map((r) => r.indexname),
      avg_row_bytes_by_type: Object.fromEntries(byType.map((r) => [r.task_type, r.avg])),
    },
  };
  console.log(JSON.stringify(report, null, 2));

  await db.destroy();
  await Promise.allSettled([enrichment.close(), gmail.stop(), transcription.close()]);
  await rm(mediaRoot, { recursive: true, force: true });
  await redis.stop();
  await pg.stop();
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
