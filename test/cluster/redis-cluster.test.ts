/**
 * The fleet on a real Redis Cluster: six redis-server processes (three masters, three replicas),
 * every agent and the control plane connected through REDIS_CLUSTER_NODES. Checks that the
 * queues spread over the masters, runs one job of every job type of the catalog to a completed
 * audit row (providers answered by the agents' local stubs, CalDAV by a real Radicale), cancels
 * a running job through the control plane (the cancel channel is pub/sub across the cluster),
 * then SIGKILLs a master that serves queues under load: its replica is promoted, no job is lost,
 * every job has exactly one completed row and no attempt a second row, and the workers carry on
 * afterwards. What the failover looked like is printed as one `redis-cluster failover:` JSON line.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encryptToken } from '@fleet/agent-email-integration/token-crypto';
import { catalog, QUEUE_NAMES, type QueueName } from '@fleet/catalog';
import { type RunningControlPlane, startControlPlane } from '@fleet/control-plane';
import type { Database } from '@fleet/db';
import { clusterQueuePrefix, createProducer, createRedis, type Producer, queueKeyPrefix } from '@fleet/queues';
import { type RunningAgent, startAgent, withTimeout } from '@fleet/runtime';
import {
  createTestDatabase,
  createWorkspace,
  insertContact,
  insertEmail,
  type RedisCluster,
  startRedisCluster,
  type TestDatabase,
  waitFor,
} from '@fleet/testing';
import { Queue } from 'bullmq';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import analytics from '../../agents/analytics/src/index.ts';
import contactIntelligence from '../../agents/contact-intelligence/src/index.ts';
import {
  personBody,
  type StubProvider,
  startStubProvider,
} from '../../agents/contact-intelligence/test/stub-provider.ts';
import { addContentCalendar } from '../../agents/content-calendar/src/content-calendars.ts';
import contentCalendar from '../../agents/content-calendar/src/index.ts';
import { type CalDavClient, type Radicale, startRadicale } from '../../agents/content-calendar/test/radicale.ts';
import continuousIntelligence from '../../agents/continuous-intelligence/src/index.ts';
import emailIntegration from '../../agents/email-integration/src/index.ts';
import { addMailAccount } from '../../agents/email-integration/src/mail-accounts.ts';
import { GmailStub } from '../../agents/email-integration/test/gmail-stub.ts';
import { ACCOUNT, deliverStandardMailbox } from '../../agents/email-integration/test/helpers.ts';
import mediaTranscription from '../../agents/media-transcription/src/index.ts';
import { makeWav, startTranscriptionStub } from '../../agents/media-transcription/test/fixtures.ts';
import scheduler from '../../agents/scheduler/src/index.ts';
import { TICK_QUEUE } from '../../agents/scheduler/src/reconcile-schedules.ts';
import { SCHEDULE_NAMES } from '../../agents/scheduler/src/schedules.ts';
import socialPublisher from '../../agents/social-publisher/src/index.ts';
import { insertPost } from '../../agents/social-publisher/test/helpers.ts';
import { MastodonStub } from '../../agents/social-publisher/test/platform-stubs.ts';

const ENRICHMENT_KEY = 'sk_cluster_enrichment_secret';
const CALDAV_PASSWORD = 'cluster-caldav-password-9b1e';
/** cluster-node-timeout: a master unreachable this long is failed over. */
const NODE_TIMEOUT_MS = 1_000;
/**
 * How long a replica may take to replace a killed master: failure detection (the node timeout and
 * the masters' gossip), the election delay (0.5-1 s for the first replica), then election rounds:
 * one that gets no majority is retried after max(4 × node timeout, 4 s). Eight rounds, for a
 * loaded machine where votes arrive late.
 */
const PROMOTION_DEADLINE_MS = NODE_TIMEOUT_MS + 1_000 + 8 * Math.max(4 * NODE_TIMEOUT_MS, 4_000);
const ADMIN_KEY = 'cluster-test-admin-key-0123456789abcdef';
const PREFIX = `{fleet-cluster-${randomBytes(3).toString('hex')}}`;
const TERMINAL = ['completed', 'failed', 'partial_failure', 'cancelled'];

let cluster: RedisCluster;
let t: TestDatabase;
let db: Kysely<Database>;
let producer: Producer;
let agents: RunningAgent[] = [];
let controlPlane: RunningControlPlane;
let enrichment: StubProvider;
let gmail: GmailStub;
let transcription: Awaited<ReturnType<typeof startTranscriptionStub>>;
let mediaRoot: string;
let radicale: Radicale;
let caldav: CalDavClient;
let mastodon: MastodonStub;
let workspaceId: string;
/** The jobs the catalog test ran, one per job type. */
let everyType: { queue: QueueName; job: string; jobId: string }[] = [];
const mailKey = randomBytes(32);

beforeAll(async () => {
  [cluster, t, radicale] = await Promise.all([
    startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: NODE_TIMEOUT_MS }),
    createTestDatabase('redis_cluster'),
    startRadicale(),
  ]);
  db = t.db;
  enrichment = await startStubProvider(ENRICHMENT_KEY, {
    'dana@northwind.io': {
      status: 200,
      body: personBody({ given: 'Dana', family: 'Scully', title: 'CTO', company: 'Northwind' }),
    },
  });
  gmail = new GmailStub();
  await gmail.start();
  transcription = await startTranscriptionStub();
  mastodon = await new MastodonStub('cluster-mastodon-token-5e2c').start();
  caldav = await radicale.addUser('cluster', CALDAV_PASSWORD);
  mediaRoot = await mkdtemp(join(tmpdir(), 'fleet-cluster-media-'));

  const base = {
    DATABASE_URL: t.url,
    REDIS_CLUSTER_NODES: cluster.nodesVariable,
    QUEUE_PREFIX: PREFIX,
    HTTP_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    LOG_PRETTY: 'false',
    METRICS_PROCESS: 'false',
    RECONCILE_INTERVAL_MS: '1000',
  };
  // Every schedule off but one that is due on 1 January only: its job scheduler is created on
  // the cluster at start, and no tick fans out during the test.
  const schedules = Object.fromEntries(
    SCHEDULE_NAMES.map((n) => [`SCHEDULE_${n.toUpperCase()}_CRON`, n === 'monthly_summary' ? '0 3 1 1 *' : 'off']),
  );
  agents = await Promise.all([
    startAgent(contactIntelligence, {
      env: {
        ...base,
        ENRICHMENT_PROVIDER: 'http',
        ENRICHMENT_BASE_URL: enrichment.url,
        ENRICHMENT_API_KEY: ENRICHMENT_KEY,
      },
    }),
    startAgent(analytics, { env: base }),
    startAgent(emailIntegration, {
      env: {
        ...base,
        GOOGLE_CLIENT_ID: gmail.clientId,
        GOOGLE_CLIENT_SECRET: gmail.clientSecret,
        GOOGLE_OAUTH_TOKEN_URL: gmail.tokenUrl,
        GMAIL_API_BASE_URL: gmail.apiBaseUrl,
        MAIL_TOKEN_ENCRYPTION_KEY: mailKey.toString('base64'),
        MAIL_FULL_SYNC_LOOKBACK_DAYS: '36500',
      },
    }),
    startAgent(continuousIntelligence, { env: base }),
    startAgent(mediaTranscription, {
      env: {
        ...base,
        TRANSCRIPTION_BASE_URL: transcription.baseUrl,
        TRANSCRIPTION_API_KEY: 'sk-cluster-secret',
        TRANSCRIPTION_MAX_UPLOAD_BYTES: '1000000',
        MEDIA_ROOT: mediaRoot,
      },
    }),
    startAgent(scheduler, { env: { ...base, ...schedules } }),
    // Radicale and the Mastodon stub listen on loopback, which the agents refuse unless allowed.
    startAgent(contentCalendar, {
      env: { ...base, MAIL_TOKEN_ENCRYPTION_KEY: mailKey.toString('base64'), CALDAV_ALLOWED_HOSTS: '127.0.0.1' },
    }),
    startAgent(socialPublisher, {
      env: { ...base, MAIL_TOKEN_ENCRYPTION_KEY: mailKey.toString('base64'), SOCIAL_ALLOWED_HOSTS: '127.0.0.1' },
    }),
  ]);
  controlPlane = await startControlPlane({
    env: { ...base, CONTROL_PLANE_PORT: '0', CONTROL_PLANE_HOST: '127.0.0.1', ADMIN_API_KEY: ADMIN_KEY },
  });
  producer = createProducer({ redis: { cluster: cluster.nodes, tls: false }, prefix: PREFIX, db });
  workspaceId = await createWorkspace(db);
}, 90_000);

/**
 * Each close gets a bounded wait: after a failed test the cluster may be missing a shard, and a
 * client waiting for it must not time out the hook (and hide the failure) or keep the servers up.
 */
const closing = (what: string, ms: number, close: () => Promise<unknown> | undefined) =>
  withTimeout(Promise.resolve(close()), ms, what);

afterAll(async () => {
  const closed = await Promise.allSettled([
    // A close is bounded inside the runtime (grace, then abort, then force, then each later step):
    // 30 s covers those bounds; longer means a close that hangs.
    ...agents.map((a) => closing(`agent ${a.name}`, 30_000, () => a.close(5_000))),
    closing('the control plane', 10_000, () => controlPlane?.close()),
    closing('the producer', 10_000, () => producer?.close()),
  ]);
  await Promise.allSettled([
    enrichment?.close(),
    gmail?.stop(),
    transcription?.close(),
    mastodon?.close(),
    radicale?.stop(),
    cluster?.destroy(),
  ]);
  await t?.drop();
  if (mediaRoot) await rm(mediaRoot, { recursive: true, force: true });
  const stuck = closed.filter((c) => c.status === 'rejected').map((c) => String(c.reason));
  expect(stuck, 'everything closes in time').toEqual([]);
}, 90_000);

const ALL_QUEUES = [...QUEUE_NAMES, TICK_QUEUE];

const rowsOf = (jobIds: string[]) =>
  db
    .selectFrom('autonomous_tasks')
    .select([
      'job_id',
      'queue_name',
      'task_type',
      'attempt',
      'status',
      'error_message',
      'executed_at',
      'completed_at',
      'output_data',
    ])
    .where('job_id', 'in', jobIds)
    .execute();

/** Each job's latest attempt's row. */
function latestRows(rows: Awaited<ReturnType<typeof rowsOf>>) {
  const latest = new Map<string, (typeof rows)[number]>();
  for (const r of rows) if ((latest.get(r.job_id!)?.attempt ?? 0) < (r.attempt ?? 0)) latest.set(r.job_id!, r);
  return latest;
}

/**
 * Waits until each job's latest attempt has a terminal row and BullMQ has finished the job; on
 * timeout the message lists the jobs that had not, with their latest row and BullMQ state.
 */
async function settled(jobs: { queue: QueueName; jobId: string }[], timeoutMs = 60_000) {
  const ids = jobs.map((j) => j.jobId);
  const finished = (state: string) => state === 'completed' || state === 'failed';
  try {
    return await waitFor(
      async () => {
        const rows = await rowsOf(ids);
        const latest = latestRows(rows);
        if (latest.size < ids.length || [...latest.values()].some((r) => !TERMINAL.includes(r.status)))
          return undefined;
        const states = await Promise.all(jobs.map((j) => producer.queue(j.queue).getJobState(j.jobId)));
        return states.every(finished) ? rows : undefined;
      },
      { timeoutMs, intervalMs: 200, what: `${ids.length} jobs to settle` },
    );
  } catch (error) {
    const latest = latestRows(await rowsOf(ids));
    // Bounded: a shard without a master must not keep the message from being written.
    const states = await Promise.all(
      jobs.map((j) =>
        withTimeout(producer.queue(j.queue).getJobState(j.jobId), 5_000, 'getJobState').catch((e: Error) => e.message),
      ),
    );
    const open = jobs
      .map((j, k) => ({ j, row: latest.get(j.jobId), state: states[k]! }))
      .filter(({ row, state }) => !row || !TERMINAL.includes(row.status) || !finished(state))
      .map(
        ({ j, row, state }) =>
          `${j.queue}/${j.jobId}: row ${row ? `#${row.attempt} ${row.status}` : 'none'}, job ${state}`,
      );
    throw new Error(`${(error as Error).message}; not settled:\n${open.slice(0, 20).join('\n')}`);
  }
}

describe('the fleet on a Redis Cluster', () => {
  it('spreads the queues over the masters: each queue in one slot, different queues on different masters', async () => {
    // Keys BullMQ really wrote: each queue's meta hash (written when its worker or producer starts).
    const owners = new Map<string, number>();
    for (const queue of ALL_QUEUES) {
      const prefix = clusterQueuePrefix(PREFIX, queue);
      const master = await cluster.masterOf(`${prefix}:${queue}:meta`);
      expect(await cluster.command(master, 'EXISTS', `${prefix}:${queue}:meta`), queue).toBe(1);
      owners.set(queue, master);
    }
    expect(new Set(owners.values()).size).toBeGreaterThanOrEqual(2);
    // Nothing of any queue lies under the single-server layout's shared hash tag.
    for (const { port } of await cluster.masters()) {
      expect(await cluster.command(port, 'KEYS', `${PREFIX}:*_queue:*`)).toEqual([]);
    }
    // The scheduler created its job scheduler on the tick queue's shard.
    const connection = createRedis({ cluster: cluster.nodes, tls: false }, 'producer');
    const ticks = new Queue(TICK_QUEUE, { connection, prefix: queueKeyPrefix(connection, PREFIX, TICK_QUEUE) });
    try {
      const schedulers = await ticks.getJobSchedulers(0, -1, true);
      expect(schedulers.map((s) => s.pattern)).toEqual(['0 3 1 1 *']);
    } finally {
      await ticks.close();
      connection.disconnect();
    }
  });

  it('runs one job of every job type to a completed audit row', async () => {
    const contactId = await insertContact(db, workspaceId, { email: 'dana@northwind.io', first_name: 'Dana' });
    await insertEmail(db, workspaceId, {
      direction: 'inbound',
      sent_at: new Date(Date.now() - 3_600_000),
      subject: 'Pricing for 40 seats',
      body_text: 'Could you send a quote for 40 seats by Friday? We want to start next month.',
    });
    const refreshToken = `1//cluster-${randomBytes(6).toString('hex')}`;
    gmail.validRefreshTokens.add(refreshToken);
    deliverStandardMailbox(gmail);
    const accountId = await addMailAccount(db, mailKey, { workspaceId, emailAddress: ACCOUNT, refreshToken });
    await writeFile(join(mediaRoot, 'call.wav'), makeWav({ seconds: 4 }));
    const media = await db
      .insertInto('media_files')
      .values({ workspace_id: workspaceId, source: 'call.wav', file_name: 'call.wav' })
      .returning('id')
      .executeTakeFirstOrThrow();
    // An empty CalDAV calendar and one scheduled item: the sync pushes it.
    const calendar = await addContentCalendar(db, mailKey, {
      workspaceId,
      url: await caldav.makeCalendar('content'),
      username: 'cluster',
      password: CALDAV_PASSWORD,
    });
    await db
      .insertInto('content_calendar_items')
      .values({
        workspace_id: workspaceId,
        calendar_id: calendar.id,
        kind: 'post',
        title: 'Cluster launch',
        starts_at: new Date('2026-04-01T08:00:00Z'),
        time_zone: 'Europe/London',
        status: 'scheduled',
      })
      .execute();
    const socialAccount = await db
      .insertInto('social_accounts')
      .values({
        workspace_id: workspaceId,
        platform: 'mastodon',
        base_url: mastodon.baseUrl,
        handle: 'brand',
        access_token_encrypted: encryptToken(mailKey, mastodon.token),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const post = await insertPost(db, workspaceId, socialAccount.id, { text: 'Live on a Redis Cluster' });

    const payloads: Record<string, Record<string, unknown>> = {
      lead_scoring_batch: { workspace_id: workspaceId },
      contact_enrichment: { workspace_id: workspaceId, contact_ids: [contactId] },
      daily_analytics_rollup: { workspace_id: workspaceId },
      weekly_report_generation: { workspace_id: workspaceId },
      monthly_summary: { workspace_id: workspaceId },
      email_sync: { workspace_id: workspaceId, account_id: accountId },
      continuous_intelligence_update: { workspace_id: workspaceId },
      media_transcription: { workspace_id: workspaceId, media_file_id: media.id },
      system_health_check: {},
      data_cleanup: {},
      // A workspace without mail: nothing to recommend, still a completed analysis.
      campaign_optimization: { workspace_id: workspaceId },
      content_calendar_sync: { workspace_id: workspaceId, calendar_id: calendar.id },
      social_media_posting: { workspace_id: workspaceId, post_id: post },
    };
    const jobs: { queue: QueueName; job: string; jobId: string }[] = [];
    for (const queue of QUEUE_NAMES) {
      for (const job of Object.keys(catalog[queue].jobs)) {
        expect(payloads[job], `a payload for ${queue}/${job}`).toBeDefined();
        const { jobId } = await producer.enqueueRaw(queue, job, payloads[job], { triggeredBy: 'manual' });
        jobs.push({ queue, job, jobId });
      }
    }
    expect(jobs).toHaveLength(Object.keys(payloads).length);
    everyType = jobs;
    const rows = await settled(jobs);
    for (const j of jobs) {
      const row = rows.find((r) => r.job_id === j.jobId);
      expect(row, j.job).toBeDefined();
      expect(`${j.job}: ${row!.status} ${row!.error_message ?? ''}`).toBe(`${j.job}: completed `);
    }
    // The health check asked every master for its eviction policy; data_cleanup trimmed every
    // queue on its own shard.
    const health = rows.find((r) => r.task_type === 'system_health_check')!.output_data as {
      redis: { ok: boolean; eviction_safe: boolean; masters?: { maxmemory_policy: string }[] };
    };
    expect(health.redis).toMatchObject({ ok: true, eviction_safe: true });
    expect(health.redis.masters?.map((m) => m.maxmemory_policy)).toEqual(['noeviction', 'noeviction', 'noeviction']);
    const cleanup = rows.find((r) => r.task_type === 'data_cleanup')!.output_data as {
      jobs_removed: Record<string, unknown>;
    };
    expect(Object.keys(cleanup.jobs_removed).sort()).toEqual([...ALL_QUEUES].sort());
    expect(Object.values(cleanup.jobs_removed).filter((v) => (v as { error?: string }).error)).toEqual([]);
    expect(transcription.requests.length).toBeGreaterThanOrEqual(1);
    expect(enrichment.requests.length).toBeGreaterThanOrEqual(1);
    expect(mastodon.posts.map((p) => p.text)).toEqual(['Live on a Redis Cluster']);
    expect(rows.find((r) => r.task_type === 'content_calendar_sync')!.output_data).toMatchObject({
      pushed: { created: 1 },
      failed_count: 0,
    });
  });

  it('serves the API and bull-board from the cluster, and cancels a running job through the cancel channel', async () => {
    const auth = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
    const enqueued = await fetch(`${controlPlane.url}/v1/jobs/analytics_queue/daily_analytics_rollup`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ payload: { workspace_id: workspaceId } }),
    });
    expect(enqueued.status).toBe(201);
    const { job_id: apiJobId } = (await enqueued.json()) as { job_id: string };
    await settled([{ queue: 'analytics_queue', jobId: apiJobId }]);

    const board = await fetch(`${controlPlane.url}/admin/queues/api/queues?activeQueue=analytics_queue`, {
      headers: auth,
    });
    expect(board.status).toBe(200);
    const { queues } = (await board.json()) as { queues: { name: string; counts: Record<string, number> }[] };
    expect(queues.map((q) => q.name).sort()).toEqual([...QUEUE_NAMES].sort());
    // The catalog test's analytics jobs and this one.
    const analyticsRun = everyType.filter((j) => j.queue === 'analytics_queue').length;
    expect(queues.find((q) => q.name === 'analytics_queue')!.counts.completed).toBe(analyticsRun + 1);

    // A transcription whose upload never gets an answer, cancelled while it runs.
    let uploading = 0;
    transcription.holdRequests((req) => {
      uploading++;
      req.resume();
    });
    try {
      await writeFile(join(mediaRoot, 'long.wav'), makeWav({ seconds: 20 }));
      const media = await db
        .insertInto('media_files')
        .values({ workspace_id: workspaceId, source: 'long.wav', file_name: 'long.wav' })
        .returning('id')
        .executeTakeFirstOrThrow();
      const { jobId } = await producer.enqueue('media_transcription_queue', 'media_transcription', {
        workspace_id: workspaceId,
        media_file_id: media.id,
      });
      await waitFor(() => uploading > 0 || undefined, { timeoutMs: 15_000, what: 'the upload to start' });
      const cancel = await fetch(`${controlPlane.url}/v1/tasks/${jobId}/cancel?queue=media_transcription_queue`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ reason: 'not needed' }),
      });
      expect(cancel.status).toBe(200);
      const rows = await settled([{ queue: 'media_transcription_queue', jobId }]);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.status).toBe('cancelled');
    } finally {
      transcription.holdRequests(undefined);
    }
  });

  it('loses no job and no audit row when a master dies under load, and carries on after the failover', async () => {
    // Cheap jobs on four queues; the master to kill is the one serving most of them.
    const load: { queue: QueueName; job: string }[] = [
      { queue: 'contact_intelligence_queue', job: 'lead_scoring_batch' },
      { queue: 'analytics_queue', job: 'daily_analytics_rollup' },
      { queue: 'continuous_intelligence_queue', job: 'continuous_intelligence_update' },
      { queue: 'maintenance_queue', job: 'system_health_check' },
    ];
    const ownerOf = new Map<QueueName, number>();
    for (const { queue } of load)
      ownerOf.set(queue, await cluster.masterOf(`${clusterQueuePrefix(PREFIX, queue)}:${queue}:meta`));
    const counts = new Map<number, number>();
    for (const port of ownerOf.values()) counts.set(port, (counts.get(port) ?? 0) + 1);
    const victim = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    const victimQueues = load.filter((l) => ownerOf.get(l.queue) === victim).map((l) => l.queue);

    const PER_QUEUE = 60;
    // Rollups of one workspace and day serialize in Postgres: each job rolls up a day of its own.
    const planned = load
      .flatMap((l) =>
        Array.from({ length: PER_QUEUE }, (_, i) => ({
          ...l,
          jobId: randomUUID(),
          payload: (l.job === 'system_health_check'
            ? {}
            : l.job === 'daily_analytics_rollup'
              ? {
                  workspace_id: workspaceId,
                  date: new Date(Date.now() - (i + 2) * 86_400_000).toISOString().slice(0, 10),
                }
              : { workspace_id: workspaceId }) as Record<string, unknown>,
        })),
      )
      .sort(() => Math.random() - 0.5);
    const enqueuedAt = new Map<string, number>();
    let addErrors = 0;
    /** Adds one job, retrying with the same id until Redis confirms it: what a caller does. */
    async function add(j: (typeof planned)[number]) {
      for (;;) {
        try {
          await producer.enqueueRaw(j.queue, j.job, j.payload, {
            jobId: j.jobId,
            jobIdIsNew: true,
            triggeredBy: 'manual',
          });
          enqueuedAt.set(j.jobId, Date.now());
          return;
        } catch {
          addErrors++;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }
    const completedCount = async () =>
      Number(
        (
          await db
            .selectFrom('autonomous_tasks')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .where(
              'job_id',
              'in',
              planned.map((p) => p.jobId),
            )
            .where('status', '=', 'completed')
            .executeTakeFirstOrThrow()
        ).n,
      );

    // Add in waves of 10 while the workers run them; kill the master a third of the way through.
    const adding = (async () => {
      for (let i = 0; i < planned.length; i += 10) await Promise.all(planned.slice(i, i + 10).map(add));
    })();
    await waitFor(async () => (await completedCount()) >= planned.length / 3 || undefined, {
      timeoutMs: 60_000,
      what: 'a third of the load to complete',
    });
    const replica = await waitFor(
      async () => {
        for (const node of cluster.nodes) {
          if (node.port === victim) continue;
          // Only a replica whose link is up can take over ('connected'; a replica still syncing
          // holds nothing and refuses to).
          const role = (await cluster.command(node.port, 'ROLE')) as [string, string, number, string];
          if (role[0] === 'slave' && role[2] === victim && role[3] === 'connected') return node.port;
        }
        return undefined;
      },
      { what: `a synced replica of ${victim}` },
    );
    const killedAt = Date.now();
    const completedBefore = await completedCount();
    await cluster.kill(victim);
    await waitFor(async () => ((await cluster.command(replica, 'ROLE')) as string[])[0] === 'master' || undefined, {
      timeoutMs: PROMOTION_DEADLINE_MS,
      intervalMs: 20,
      what: `replica ${replica} to be promoted`,
    }).catch((error: Error) => {
      throw new Error(`${error.message}\nreplica log:\n${cluster.log(replica)}\nvictim log:\n${cluster.log(victim)}`);
    });
    const promotedAt = Date.now();
    await waitFor(
      async () => String(await cluster.command(replica, 'CLUSTER', 'INFO')).includes('cluster_state:ok') || undefined,
      {
        timeoutMs: 30_000,
        intervalMs: 20,
        what: 'the cluster to be ok again',
      },
    );
    const okAt = Date.now();
    await adding;
    const rows = await settled(planned, 120_000);

    // Exactly one completed row per job; no attempt recorded twice; nothing left open.
    const byJob = new Map<string, typeof rows>();
    for (const r of rows) byJob.set(r.job_id!, [...(byJob.get(r.job_id!) ?? []), r]);
    expect(byJob.size).toBe(planned.length);
    const incomplete = [...byJob].filter(([, jobRows]) => !jobRows.some((r) => r.status === 'completed'));
    expect(
      incomplete.map(([, jobRows]) =>
        jobRows.map((r) => `${r.task_type}#${r.attempt} ${r.status}: ${r.error_message}`),
      ),
    ).toEqual([]);
    for (const [jobId, jobRows] of byJob) {
      expect(
        jobRows.filter((r) => r.status === 'completed'),
        jobId,
      ).toHaveLength(1);
      expect(new Set(jobRows.map((r) => r.attempt)).size, jobId).toBe(jobRows.length);
      expect(
        jobRows.every((r) => TERMINAL.includes(r.status)),
        jobId,
      ).toBe(true);
    }
    const { rows: dup } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM (
        SELECT queue_name, job_id, attempt FROM autonomous_tasks GROUP BY 1, 2, 3 HAVING count(*) > 1) d`.execute(db);
    expect(dup[0]!.n).toBe(0);

    // The workers carry on: new jobs on the failed-over shard's queues complete.
    const after = victimQueues.map((queue) => {
      const like = planned.find((p) => p.queue === queue)!;
      const payload = like.job === 'daily_analytics_rollup' ? { ...like.payload, date: '2025-01-01' } : like.payload;
      return { ...like, jobId: randomUUID(), payload };
    });
    await Promise.all(after.map(add));
    const afterRows = await settled(after, 30_000);
    expect(afterRows.filter((r) => r.status === 'completed')).toHaveLength(after.length);

    const finishedAt = planned
      .filter((p) => victimQueues.includes(p.queue))
      .map((p) => rows.find((r) => r.job_id === p.jobId && r.status === 'completed')!.completed_at!.getTime())
      .sort((a, b) => a - b);
    const addToDone = planned.map(
      (p) =>
        rows.find((r) => r.job_id === p.jobId && r.status === 'completed')!.completed_at!.getTime() -
        enqueuedAt.get(p.jobId)!,
    );
    const enqueuedBeforeKill = [...enqueuedAt.values()].filter((at) => at < killedAt).length;
    console.log(
      `redis-cluster failover: ${JSON.stringify({
        killed_master: victim,
        queues_on_it: victimQueues,
        promoted_after_ms: promotedAt - killedAt,
        cluster_ok_after_ms: okAt - killedAt,
        jobs: planned.length,
        completed_before_kill: completedBefore,
        jobs_waiting_or_active_at_kill: enqueuedBeforeKill - completedBefore,
        // The longest time in which no job of the killed master's queues completed.
        longest_pause_in_completions_ms: Math.max(...finishedAt.slice(1).map((at, k) => at - finishedAt[k]!)),
        max_add_to_done_ms: Math.max(...addToDone),
        add_errors_retried: addErrors,
        audit_rows: rows.length,
        jobs_with_more_than_one_attempt: [...byJob.values()].filter((r) => r.length > 1).length,
        // Why an attempt before the completed one ended (a failover can cost an attempt).
        earlier_attempts: [
          ...new Set(
            rows.filter((r) => r.status !== 'completed').map((r) => `${r.task_type} ${r.status}: ${r.error_message}`),
          ),
        ].slice(0, 5),
      })}`,
    );
  }, 180_000);
});
