/**
 * Secret canaries, end to end. Every secret variable of the fleet holds a unique random value,
 * and so do the refresh tokens and the IMAP password stored (encrypted) in mail_accounts and the
 * CalDAV password in content_calendars (accepted by a real Radicale); the
 * Gmail stub issues random access tokens at run time. The providers are local stubs that answer
 * with errors echoing the credentials and the request body. Every agent runs its succeeding and
 * failing paths, the control plane (a child process, as in its container) answers its error
 * paths and every read, the CLI prints what it knows. Then every place a value can surface is
 * scanned for every canary, raw, base64 and URL-encoded: the log output of every process, every
 * column of every table, every field of every Redis key, every HTTP answer (headers and body),
 * every CLI output. Zero hits — after checking that the canaries really travelled: the stubs saw
 * them and echoed them, so a leak would have been there to find.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import analytics from '@fleet/agent-analytics';
import contactIntelligence from '@fleet/agent-contact-intelligence';
import contentCalendar from '@fleet/agent-content-calendar';
import { addContentCalendar } from '@fleet/agent-content-calendar/content-calendars';
import continuousIntelligence from '@fleet/agent-continuous-intelligence';
import emailIntegration from '@fleet/agent-email-integration';
import { addImapAccount, addMailAccount } from '@fleet/agent-email-integration/mail-accounts';
import mediaTranscription from '@fleet/agent-media-transcription';
import scheduler from '@fleet/agent-scheduler';
import type { QueueName } from '@fleet/catalog';
import { createProducer, type Producer } from '@fleet/queues';
import { type AnyAgent, type RunningAgent, startAgent } from '@fleet/runtime';
import {
  adminQuery,
  type CanaryHit,
  canary,
  createTestDatabase,
  createWorkspace,
  dumpRedisKeys,
  findCanaries,
  insertContact,
  insertEmail,
  type TestDatabase,
  waitFor,
} from '@fleet/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Radicale, startRadicale } from '../../../agents/content-calendar/test/radicale.ts';
import { deliverStandardMailbox } from '../../../agents/email-integration/test/helpers.ts';
import { makeWav } from '../../../agents/media-transcription/test/fixtures.ts';
import { runCli } from '../src/cli.ts';
import { type CanaryProviders, startCanaryProviders } from './fixtures/canary-providers.ts';
import { type ControlPlaneProcess, startControlPlaneProcess } from './fixtures/control-plane-process.ts';
import { tourControlPlane } from './fixtures/control-plane-requests.ts';
import { captureIO } from './helpers.ts';

const PREFIX = '{fleet}';
/** Login roles are cluster-wide: names of this run's own, dropped afterwards. */
const ROLES = {
  agent: `canary_agent_${randomBytes(4).toString('hex')}`,
  controlPlane: `canary_control_plane_${randomBytes(4).toString('hex')}`,
};
/** The planted values, by where they were planted. */
const C = {
  POSTGRES_PASSWORD: canary('postgres-password'),
  // Login role passwords may hold only URL-safe characters (fleet migrate checks).
  AGENT_DATABASE_PASSWORD: canary('agent-database-password').replace(/[/+]/g, '-'),
  CONTROL_PLANE_DATABASE_PASSWORD: canary('control-plane-database-password').replace(/[/+]/g, '-'),
  REDIS_PASSWORD: canary('redis-password'),
  ADMIN_API_KEY: canary('admin-api-key'),
  ENRICHMENT_API_KEY: canary('enrichment-api-key'),
  GOOGLE_CLIENT_SECRET: canary('google-client-secret'),
  MAIL_TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  ANTHROPIC_API_KEY: canary('anthropic-api-key'),
  TRANSCRIPTION_API_KEY: canary('transcription-api-key'),
  stored_refresh_token: `1//${canary('refresh-token')}`,
  stored_revoked_refresh_token: `1//${canary('revoked-refresh-token')}`,
  stored_imap_password: canary('imap-password'),
  stored_caldav_password: canary('caldav-password'),
};
const SECRET_VARIABLES = [
  'POSTGRES_PASSWORD',
  'AGENT_DATABASE_PASSWORD',
  'CONTROL_PLANE_DATABASE_PASSWORD',
  'REDIS_PASSWORD',
  'ADMIN_API_KEY',
  'ENRICHMENT_API_KEY',
  'GOOGLE_CLIENT_SECRET',
  'MAIL_TOKEN_ENCRYPTION_KEY',
  'ANTHROPIC_API_KEY',
  'TRANSCRIPTION_API_KEY',
] as const;

let t: TestDatabase;
let p: CanaryProviders;
let producer: Producer;
let controlPlane: ControlPlaneProcess;
let mediaRoot: string;
let radicale: Radicale;
let env: Record<string, string>;
const agents: RunningAgent[] = [];
const logs = new Map<string, string>();
const cli = new Map<string, string>();
let http = new Map<string, string>();
/** Handed back once, on creation: scanned for everywhere else. */
let tenantKey = '';
/** Jobs run, as `queue/job: what it exercises`. */
const paths: string[] = [];

/**
 * What this process prints besides the agents' loggers (a library's console.warn, a stray
 * write): the agents run in it, so that is their stdout and stderr too.
 */
function captureProcessOutput(): () => void {
  logs.set('test process stdout/stderr', '');
  const keep = (chunk: unknown) => {
    logs.set('test process stdout/stderr', logs.get('test process stdout/stderr') + String(chunk));
  };
  const writes = { out: process.stdout.write, err: process.stderr.write };
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const originals = methods.map((m) => console[m]);
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    keep(chunk);
    return (writes.out as (...a: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => {
    keep(chunk);
    return (writes.err as (...a: unknown[]) => boolean).call(process.stderr, chunk, ...rest);
  }) as typeof process.stderr.write;
  methods.forEach((m, i) => {
    console[m] = (...args: unknown[]) => {
      keep(`${args.map(String).join(' ')}\n`);
      originals[i]!(...args);
    };
  });
  return () => {
    process.stdout.write = writes.out;
    process.stderr.write = writes.err;
    methods.forEach((m, i) => {
      console[m] = originals[i]!;
    });
  };
}
let restoreOutput = () => {};

function sink(name: string): Writable {
  logs.set(name, '');
  return new Writable({
    write(chunk, _enc, done) {
      logs.set(name, logs.get(name) + chunk.toString());
      done();
    },
  });
}

beforeAll(async () => {
  restoreOutput = captureProcessOutput();
  t = await createTestDatabase('canaries');
  p = await startCanaryProviders(C);
  mediaRoot = await mkdtemp(join(tmpdir(), 'canary-media-'));
  radicale = await startRadicale();
  // As in compose: `fleet migrate` runs as the owner and makes the login roles; the agents and the
  // control plane log in as those (least privilege), each with its canary password. Trust
  // authentication accepts any password, so the canaries are the passwords in use.
  const urlOf = (user: string, password: string) => {
    const url = new URL(t.url);
    url.username = user;
    url.password = password;
    return url.toString();
  };
  const owner = new URL(t.url).username;
  // Every process gets every secret, the worst case for what could leak.
  env = {
    ...Object.fromEntries(SECRET_VARIABLES.map((name) => [name, C[name]])),
    AGENT_DATABASE_USER: ROLES.agent,
    CONTROL_PLANE_DATABASE_USER: ROLES.controlPlane,
    DATABASE_URL: urlOf(owner, C.POSTGRES_PASSWORD),
    REDIS_URL: p.redis.url,
    QUEUE_PREFIX: PREFIX,
    HTTP_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    LOG_PRETTY: 'false',
    METRICS_PROCESS: 'false',
    RECONCILE_INTERVAL_MS: '500',
    ENRICHMENT_PROVIDER: 'http',
    ENRICHMENT_BASE_URL: p.enrichment.url,
    GOOGLE_CLIENT_ID: p.gmail.clientId,
    GOOGLE_OAUTH_TOKEN_URL: p.gmail.tokenUrl,
    GMAIL_API_BASE_URL: p.gmail.apiBaseUrl,
    MAIL_MAX_INLINE_WAIT_MS: '50',
    ANTHROPIC_BASE_URL: p.anthropic.url,
    INTELLIGENCE_MAX_RETRIES: '0',
    TRANSCRIPTION_BASE_URL: p.transcription.baseUrl,
    MEDIA_ROOT: mediaRoot,
    CALDAV_ALLOWED_HOSTS: '127.0.0.1',
    IMAP_ALLOWED_HOSTS: '127.0.0.1',
    CONTROL_PLANE_HOST: '127.0.0.1',
    // The test runs every sync itself; a scheduled one would take the Gmail stub's faults.
    SCHEDULE_EMAIL_SYNC_CRON: 'off',
  };
  const migrate = await fleet(['migrate']);
  if (migrate.code !== 0) throw new Error(`fleet migrate failed: ${migrate.output}`);
  const agentEnv = { ...env, DATABASE_URL: urlOf(ROLES.agent, C.AGENT_DATABASE_PASSWORD) };
  const controlPlaneEnv = { ...env, DATABASE_URL: urlOf(ROLES.controlPlane, C.CONTROL_PLANE_DATABASE_PASSWORD) };
  producer = createProducer({ redis: p.redis.url, prefix: PREFIX, db: t.db });
  const fleetAgents: AnyAgent[] = [
    contactIntelligence,
    emailIntegration,
    continuousIntelligence,
    mediaTranscription,
    contentCalendar,
    analytics,
    scheduler,
  ];
  for (const agent of fleetAgents) {
    agents.push(await startAgent(agent, { env: agentEnv, logDestination: sink(agent.name) }));
  }
  controlPlane = await startControlPlaneProcess(controlPlaneEnv);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled(agents.map((a) => a.close(5_000)));
  await controlPlane?.stop();
  await producer?.close();
  await p?.close();
  await radicale?.stop();
  if (mediaRoot) await rm(mediaRoot, { recursive: true, force: true });
  await t?.drop();
  for (const role of Object.values(ROLES)) await adminQuery(t.adminUrl, `DROP ROLE IF EXISTS ${role}`);
  restoreOutput();
}, 60_000);

/** Enqueues a job (a failure is retried once, quickly) and waits for its last attempt's row. */
async function run(queue: QueueName, job: string, payload: Record<string, unknown>, what: string) {
  paths.push(`${queue}/${job}: ${what}`);
  // biome-ignore lint/suspicious/noExplicitAny: jobs of every queue
  const enqueue = producer.enqueue as (...args: any[]) => Promise<{ jobId: string }>;
  const { jobId } = await enqueue(queue, job, payload, { attempts: 2, backoff: { type: 'fixed', delay: 100 } });
  return waitFor(
    async () => {
      const rows = await t.db.selectFrom('autonomous_tasks').selectAll().where('job_id', '=', jobId).execute();
      const last = rows.sort((a, b) => (b.attempt ?? 0) - (a.attempt ?? 0))[0];
      if (!last || ['pending', 'running'].includes(last.status)) return undefined;
      if (last.status === 'failed' && last.error_message?.includes('will retry')) return undefined;
      return last;
    },
    { timeoutMs: 30_000, what: `${queue}/${job} (${what}) to finish` },
  );
}

const contacts = (job: string, workspace_id: string, what: string) =>
  run('contact_intelligence_queue', job, { workspace_id }, what);
const sync = (payload: Record<string, unknown>, what: string) =>
  run('email_integration_queue', 'email_sync', payload, what);
const insights = (workspace_id: string, what: string) =>
  run('continuous_intelligence_queue', 'continuous_intelligence_update', { workspace_id }, what);

async function fleet(args: string[], cliEnv = env) {
  const io = captureIO();
  const code = await runCli(args, { io, env: cliEnv });
  cli.set(`fleet ${args.join(' ')}`, `${code}\n${io.out}\n${io.err}`);
  return { code, output: `${io.out}${io.err}` };
}

// The checks while the jobs run are soft: a failing one must not stop the scan that follows.
describe('secret canaries', () => {
  it('run every agent, succeeding and failing, with providers that echo what they were sent', async () => {
    const ws = await createWorkspace(t.db);
    const other = await createWorkspace(t.db);

    // contact-intelligence: scoring, and enrichment against a provider that echoes its requests.
    await insertContact(t.db, ws, { email: 'found@acme.test', job_title: 'CEO' });
    await insertContact(t.db, ws, { email: 'echo@acme.test' });
    await insertContact(t.db, other, { email: 'denied@acme.test' });
    await contacts('lead_scoring_batch', ws, 'scores');
    await contacts('contact_enrichment', ws, 'one found, one 500 echoing the request');
    await contacts('contact_enrichment', other, '401 echoing the request');

    // email-integration: a good Gmail account; a revoked one, whose refusal quotes the token and
    // the form body; API answers quoting the bearer token; an IMAP login refused with the
    // AUTHENTICATE command (the password, base64) quoted back.
    const key = Buffer.from(C.MAIL_TOKEN_ENCRYPTION_KEY, 'base64');
    p.gmail.validRefreshTokens.add(C.stored_refresh_token);
    deliverStandardMailbox(p.gmail);
    const account = (emailAddress: string, refreshToken: string) =>
      addMailAccount(t.db, key, { workspaceId: ws, emailAddress, refreshToken });
    const good = await account('me@acme.test', C.stored_refresh_token);
    const revoked = await account('revoked@acme.test', C.stored_revoked_refresh_token);
    const imap = await addImapAccount(t.db, key, {
      workspaceId: ws,
      emailAddress: 'imap@acme.test',
      host: '127.0.0.1',
      port: p.imap.port,
      security: 'none',
      password: C.stored_imap_password,
    });
    expect.soft((await sync({ workspace_id: ws, account_id: good }, 'full sync')).status).toBe('completed');
    const refused = await sync({ workspace_id: ws, account_id: revoked }, 'refresh refused, token and body echoed');
    expect.soft(refused.status).toBe('failed');
    expect.soft(refused.error_message).toContain('Token [redacted] has been expired or revoked');
    expect.soft(refused.error_message).toContain('refresh_token=[redacted]');
    const again = { workspace_id: ws, account_id: good, since: '2020-01-01T00:00:00Z' };
    p.echoGmailErrors(403);
    await sync(again, '403 echoing the bearer token');
    p.echoGmailErrors(500, 4);
    await sync(again, '500 echoing the bearer token, retried');
    const imapRow = await sync({ workspace_id: ws, account_id: imap }, 'IMAP login refused, command echoed');
    expect.soft(imapRow.error_message).toContain('refused: [redacted]');

    // continuous-intelligence: one email extracted; one refused with a 401 echoing key and body.
    const email = (workspaceId: string, body_text: string) =>
      insertEmail(t.db, workspaceId, { direction: 'inbound', sent_at: new Date(), subject: 'Hi', body_text });
    await email(ws, 'Can we meet on Tuesday?');
    await insights(ws, 'extracts');
    await email(other, 'ECHO-401 please');
    const llmDown = await insights(other, '401 echoing key, headers and body');
    expect.soft(llmDown.error_message).toContain('invalid api key [redacted]');

    // media-transcription: a transcript, a 401 echoing the request, a 500 naming the key (retried),
    // and a URL to an internal service, refused. The stub tells the files apart by length.
    const media = async (source: string, seconds?: number) => {
      if (seconds) await writeFile(join(mediaRoot, source), makeWav({ seconds }));
      const row = await t.db.insertInto('media_files').values({ workspace_id: ws, source }).returning('id');
      const { id } = await row.executeTakeFirstOrThrow();
      return { workspace_id: ws, media_file_id: id };
    };
    const transcribe = (payload: Record<string, unknown>, what: string) =>
      run('media_transcription_queue', 'media_transcription', payload, what);
    await transcribe(await media('ok.wav', 2), 'transcribes');
    const upload401 = await transcribe(await media('echo-401.wav', 3), '401 echoing the request');
    expect.soft(upload401.error_message).toContain('refused the credentials (HTTP 401)');
    const upload500 = await transcribe(await media('echo-500.wav', 4), '500 naming the key, retried');
    expect.soft(upload500).toMatchObject({ attempt: 2, status: 'failed' });
    expect.soft(upload500.error_message).toContain('upstream rejected key [redacted]');
    const ssrf = await transcribe(await media(p.internal.url), 'URL to a loopback service, refused');
    expect.soft(ssrf.error_message).toContain('(rule: loopback)');
    expect.soft(p.internal.hits).toBe(0);

    // content-calendar: a two-way sync with a Radicale that accepts the stored password (HTTP Basic),
    // and the same calendar with a wrong password, refused.
    const calendarClient = await radicale.addUser('canary', C.stored_caldav_password);
    const calendarUrl = await calendarClient.makeCalendar('content');
    const calendar = await addContentCalendar(t.db, key, {
      workspaceId: ws,
      url: calendarUrl,
      username: 'canary',
      password: C.stored_caldav_password,
    });
    await t.db
      .insertInto('content_calendar_items')
      .values({ workspace_id: ws, calendar_id: calendar.id, kind: 'post', title: 'Launch', starts_at: new Date() })
      .execute();
    const calendarSync = (calendar_id: string, what: string) =>
      run('content_calendar_queue', 'content_calendar_sync', { workspace_id: ws, calendar_id }, what);
    expect.soft((await calendarSync(calendar.id, 'two-way sync')).status).toBe('completed');
    expect.soft(await calendarClient.members(calendarUrl)).toHaveLength(1);
    const wrong = await addContentCalendar(t.db, key, {
      workspaceId: ws,
      url: `${radicale.baseUrl}/canary/content/`,
      username: 'canary',
      password: `${C.stored_caldav_password}-wrong`,
    });
    expect.soft((await calendarSync(wrong.id, 'password refused')).error_message).toContain('HTTP 401');

    // analytics and maintenance: every job, and a failure.
    await run('analytics_queue', 'daily_analytics_rollup', { workspace_id: ws }, 'rolls up');
    await run('analytics_queue', 'weekly_report_generation', { workspace_id: ws }, 'reports');
    await run('analytics_queue', 'monthly_summary', { workspace_id: ws }, 'summarises');
    await run('analytics_queue', 'daily_analytics_rollup', { workspace_id: randomUUID() }, 'unknown workspace');
    await run('maintenance_queue', 'system_health_check', {}, 'checks the fleet');
    await run('maintenance_queue', 'data_cleanup', { workspace_id: ws }, 'cleans up');

    // The canaries did travel: the providers were sent them (and echoed them).
    expect.soft(p.seen()).toEqual({
      enrichmentKey: true,
      clientSecret: true,
      refreshToken: true,
      revokedRefreshToken: true,
      anthropicKey: true,
      transcriptionKey: true,
      imapPassword: true,
    });
  });

  it('answer every control plane operation, error paths included, and serve the dashboard', async () => {
    const rows = await t.db.selectFrom('autonomous_tasks').select(['id', 'job_id']).execute();
    const workspaceId = (await t.db.selectFrom('workspaces').select('id').executeTakeFirstOrThrow()).id;
    const tour = await tourControlPlane(controlPlane.url, C.ADMIN_API_KEY, { workspaceId, rows });
    http = tour.answers;
    tenantKey = tour.tenantKey;
    expect(tenantKey).not.toBe('');
    expect(http.size).toBeGreaterThan(100);
  });

  it('print through the CLI', async () => {
    for (const args of [['tasks', '--json', '-n', '500'], ['tasks', '-n', '500'], ['status'], ['status', '--json']]) {
      await fleet(args);
    }
    await fleet(['schedules']);
    for (const row of await t.db.selectFrom('autonomous_tasks').select('id').execute()) await fleet(['task', row.id]);
    await fleet(['task', randomUUID()]);
    await fleet(['enqueue', 'analytics_queue', 'daily_analytics_rollup', '--data', '{"workspace_id":"nope"}']);
    // Redis unreachable: the message names the URL, without its password.
    await fleet(['status'], { ...env, REDIS_URL: `redis://:${encodeURIComponent(C.REDIS_PASSWORD)}@127.0.0.1:9` });
  });

  it('find no canary anywhere, in any encoding', async () => {
    await controlPlane.stop();
    restoreOutput();
    const out = controlPlane.output();
    const named = (prefix: string, entries: Iterable<[string, string]>) =>
      [...entries].map(([k, v]) => [`${prefix} ${k}`, v] as [string, string]);
    const places = new Map<string, string>([
      ...named('log', logs),
      ['log control-plane stdout', out.stdout],
      ['log control-plane stderr', out.stderr],
      ...named('http', http),
      ...named('cli', cli),
      ...named('redis', await dumpRedisKeys(p.redis.url, '')),
      ...(await databasePlaces()),
    ]);
    const canaries: Record<string, string> = { ...C, tenant_api_key: tenantKey };
    p.gmail.issued.forEach((token, i) => {
      canaries[`gmail_access_token_${i + 1}`] = token;
    });
    const { hits, checks } = findCanaries(canaries, places);
    const creation = (h: CanaryHit) => h.canary === 'tenant_api_key' && h.place === 'http admin POST /v1/api-keys';
    expect(hits.filter((h) => !creation(h))).toEqual([]);
    const count = (prefix: string) => [...places.keys()].filter((k) => k.startsWith(prefix)).length;
    // The figures for the record.
    const figures = {
      canaries: Object.keys(canaries).length,
      places: places.size,
      bytes_scanned: [...places.values()].reduce((n, text) => n + text.length, 0),
      test_process_output_bytes: logs.get('test process stdout/stderr')?.length ?? 0,
      encodings: 5,
      checks,
      hits: hits.filter((h) => !creation(h)).length,
      jobs_run: paths.length,
      by_kind: {
        log: count('log '),
        http: count('http '),
        cli: count('cli '),
        redis: count('redis '),
        db: count('db '),
      },
    };
    process.stdout.write(`secret canaries: ${JSON.stringify(figures)}\n`);
    expect(figures.canaries).toBeGreaterThan(12);
    expect(figures.by_kind.redis).toBeGreaterThan(20);
  });
});

/** Every column of the audit table as a place of its own, and every other table. */
async function databasePlaces(): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  const audit = await t.db.selectFrom('autonomous_tasks').selectAll().execute();
  expect(audit.length).toBeGreaterThan(20);
  for (const column of Object.keys(audit[0]!) as Array<keyof (typeof audit)[number]>) {
    out.push([`db autonomous_tasks.${column}`, JSON.stringify(audit.map((r) => r[column]))]);
  }
  const { rows } = await sql<{ name: string }>`
    SELECT tablename AS name FROM pg_tables
    WHERE schemaname = 'public' AND tablename <> 'autonomous_tasks' ORDER BY 1`.execute(t.db);
  for (const { name } of rows) {
    const { rows: data } = await sql`SELECT * FROM ${sql.table(name)}`.execute(t.db);
    out.push([`db ${name}`, JSON.stringify(data)]);
  }
  return out;
}
