/**
 * The dashboard in Debian's Chromium (playwright-core; the test never downloads a browser): its
 * numbers against SQL, the task page, Retry and Cancel from the page with an in-process worker
 * running the jobs, CSRF, a workspace key's view, and a 390 px phone. Screenshots go to
 * artifacts/control-plane/ (ignored by git).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AuditWriter, createAuditWriter } from '@fleet/audit-writer';
import { defineAgent, PermanentError, type RunningAgent, startAgent } from '@fleet/runtime';
import {
  createTestDatabase,
  createTestRedis,
  seedRows,
  seedWorkspaces,
  type TestDatabase,
  type TestRedis,
  waitFor,
} from '@fleet/testing';
import { sql } from 'kysely';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logScale, QUEUE_SCALE_MIN } from '../src/dashboard/charts.ts';
import { count, duration, pct, usd } from '../src/dashboard/format.ts';
import { TONE_WORD } from '../src/dashboard/tones.ts';
import { type RunningControlPlane, startControlPlane } from '../src/index.ts';
import { layoutReport } from './dashboard-layout.ts';
import { ADMIN_KEY, client, controlPlaneEnv } from './helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../artifacts/control-plane');
const WORKER_ID = 'dash-test-worker-1';
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

let tdb: TestDatabase;
let tredis: TestRedis;
let cp: RunningControlPlane;
let logger: AuditWriter;
let browser: Browser;
let agent: RunningAgent;
let acme: string;
let globex: string;
let globexKey: string;
/** The job with two recorded attempts (failed, then completed). */
const twoAttemptJob = randomUUID();
let call: ReturnType<typeof client>;

/** What the in-process worker does with the next maintenance job. */
let mode: 'ok' | 'fail' | 'block' | 'stubborn' = 'ok';
let releaseStubborn: () => void = () => {};
const started: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install it with "apt-get install -y chromium" (or set CHROMIUM_PATH). The dashboard browser test needs a real headless browser.`,
    );
  }
  tdb = await createTestDatabase('cp_browser');
  tredis = createTestRedis('cp-browser');
  logger = createAuditWriter({ db: tdb.db });
  [acme, globex] = (await seedWorkspaces(tdb.db, 2, ['Acme', 'Globex'])) as [string, string];
  await seedRows(logger, [
    { workspaceId: acme, taskType: 'email_sync', durationMs: 1_200, costUsd: 0.05 },
    { workspaceId: acme, taskType: 'email_sync', durationMs: 2_400, costUsd: 0.07 },
    {
      workspaceId: acme,
      taskType: 'email_sync',
      durationMs: 9_000,
      status: 'failed',
      errorMessage: 'Gmail token expired',
    },
    { workspaceId: acme, taskType: 'lead_scoring_batch', durationMs: 300, costUsd: 0 },
    { workspaceId: acme, taskType: 'lead_scoring_batch', status: 'running', startedMinutesAgo: 90 },
    { workspaceId: globex, taskType: 'continuous_intelligence_update', durationMs: 15_000, costUsd: 1.25 },
    {
      workspaceId: globex,
      taskType: 'continuous_intelligence_update',
      durationMs: 20_000,
      costUsd: 0.75,
      startedMinutesAgo: 60 * 20,
    },
    {
      workspaceId: globex,
      taskType: 'daily_analytics_rollup',
      status: 'partial_failure',
      durationMs: 800,
      errorMessage: '2 of 9 metrics failed',
    },
    // Enough failures for two pages of the failed list (10 a page).
    ...Array.from({ length: 11 }, (_, i) => ({
      workspaceId: acme,
      taskType: 'email_sync' as const,
      status: 'failed' as const,
      durationMs: 100 + i,
      startedMinutesAgo: 30 + i,
      errorMessage: `IMAP timeout #${i}`,
    })),
  ]);
  // One job, two attempts: the task page shows both.
  const start = (attempt: number, minutesAgo: number) => ({
    queueName: 'analytics_queue',
    jobId: twoAttemptJob,
    attempt,
    workspaceId: acme,
    taskType: 'daily_analytics_rollup' as const,
    agentName: 'analytics',
    triggeredBy: 'api',
    inputData: { workspace_id: acme, date: '2026-02-01' },
    executedAt: new Date(Date.now() - minutesAgo * 60_000),
    jobCreatedAt: new Date(Date.now() - minutesAgo * 60_000),
  });
  const first = start(1, 12);
  await logger.finish(first, {
    status: 'failed',
    errorMessage: 'warehouse unreachable (failure 1 of 3 allowed; will retry)',
    costUsd: 0.0125,
    completedAt: new Date(first.executedAt.getTime() + 4_250),
  });
  const second = start(2, 10);
  await logger.finish(second, {
    status: 'completed',
    outputData: { metrics: 9, rows_written: 27 },
    costUsd: 0.0375,
    completedAt: new Date(second.executedAt.getTime() + 2_125),
  });
  await logger.flush();

  cp = await startControlPlane({ env: controlPlaneEnv(tdb.url, tredis.url, tredis.prefix) });
  call = client(cp.url);
  globexKey = (await call('POST', '/v1/api-keys', { body: { name: 'globex dashboard', workspace_ids: [globex] } })).body
    .key;
  agent = await startAgent(
    defineAgent({
      name: 'dash-test-agent',
      queue: 'maintenance_queue',
      concurrency: 4,
      handlers: {
        system_health_check: async (_payload, ctx) => {
          started.push(String(ctx.job.id));
          if (mode === 'fail') throw new PermanentError('disk on fire');
          if (mode === 'block') {
            await new Promise((_, reject) =>
              ctx.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
            );
          }
          if (mode === 'stubborn') {
            // Hears the cancel only when the test lets it: the worker is "still stopping".
            await new Promise<void>((r) => {
              releaseStubborn = r;
            });
            throw new Error('stopped late');
          }
          return { output: { healthy: true }, costUsd: 0.001 };
        },
        data_cleanup: async () => ({ output: {} }),
      },
    }),
    {
      env: {
        DATABASE_URL: tdb.url,
        REDIS_URL: tredis.url,
        QUEUE_PREFIX: tredis.prefix,
        HTTP_PORT: '0',
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        LOG_PRETTY: 'false',
        METRICS_PROCESS: 'false',
        FLEET_INSTANCE_ID: WORKER_ID,
      },
    },
  );
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  await mkdir(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  releaseStubborn();
  await browser?.close();
  await agent?.close(2_000);
  await cp?.close();
  await logger?.close();
  await tredis?.cleanup();
  await tdb?.drop();
});

// ---------------------------------------------------------------------------------------------

async function signIn(key: string, options: Parameters<Browser['newContext']>[0] = {}) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, ...options });
  const page = await context.newPage();
  await page.goto(`${cp.url}/dashboard`);
  expect(new URL(page.url()).pathname).toBe('/dashboard/login');
  await page.getByTestId('key').fill(key);
  await Promise.all([page.waitForURL(`${cp.url}/dashboard`), page.getByTestId('sign-in').click()]);
  return { context, page };
}

interface Expected {
  total: number;
  completed: number;
  failed: number;
  p95: number | null;
  cost: string;
}

async function expectedFromSql(workspaceId?: string): Promise<Expected> {
  const ws = workspaceId ? sql`AND workspace_id = ${workspaceId}::uuid` : sql``;
  const { rows } = await sql<{ total: number; completed: number; failed: number; p95: number | null; cost: string }>`
    SELECT count(*) AS total,
      count(*) FILTER (WHERE status = 'completed') AS completed,
      count(*) FILTER (WHERE status IN ('failed', 'partial_failure')) AS failed,
      percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95,
      coalesce(sum(cost_estimate_usd), 0)::text AS cost
    FROM autonomous_tasks WHERE executed_at >= now() - interval '24 hours' ${ws}`.execute(tdb.db);
  const r = rows[0]!;
  return { total: Number(r.total), completed: Number(r.completed), failed: Number(r.failed), p95: r.p95, cost: r.cost };
}

async function kpi(page: Page, id: string): Promise<{ text: string; value: string }> {
  const el = page.getByTestId(`kpi-${id}`);
  return { text: (await el.textContent())?.trim() ?? '', value: (await el.getAttribute('data-value')) ?? '' };
}

async function expectNumbers(page: Page, e: Expected): Promise<void> {
  const total = await kpi(page, 'total');
  expect(total.text).toBe(count(e.total));
  expect(Number(total.value)).toBe(e.total);
  const rate = e.completed / (e.completed + e.failed);
  const success = await kpi(page, 'success-rate');
  expect(success.text).toBe(pct(rate));
  expect(Number(success.value)).toBeCloseTo(rate, 9);
  // Its colour follows the documented thresholds (README: green ≥ 99 %, amber ≥ 95 %, red below),
  // and says so in words.
  const tone = rate >= 0.99 ? 'good' : rate >= 0.95 ? 'warn' : 'bad';
  expect(await page.getByTestId('kpi-box-success-rate').getAttribute('class')).toContain(`tone-${tone}`);
  expect(await page.getByTestId('kpi-box-success-rate').textContent()).toContain(TONE_WORD[tone]);
  expect(Number((await kpi(page, 'p95-duration')).value)).toBeCloseTo(Number(e.p95), 6);
  const cost = await kpi(page, 'cost');
  expect(Number(cost.value)).toBe(Number(e.cost));
  expect(cost.text).toBe(usd(e.cost));
  // The per-type success column is coloured by the same thresholds.
  const rates = await page.locator('[data-testid="by-type"] td[data-col="success"]').evaluateAll((tds) =>
    tds.map((td) => ({
      value: td.getAttribute('data-value'),
      cls: td.querySelector('.rate')?.getAttribute('class'),
    })),
  );
  expect(rates.length).toBeGreaterThan(0);
  for (const r of rates) {
    const v = Number(r.value);
    const expected = r.value === '' ? 'none' : v >= 0.99 ? 'good' : v >= 0.95 ? 'warn' : 'bad';
    expect(r.cls, String(r.value)).toContain(`tone-${expected}`);
  }
}

/** Rows of a job, oldest attempt first. */
const rowsOf = (jobId: string) =>
  tdb.db.selectFrom('autonomous_tasks').selectAll().where('job_id', '=', jobId).orderBy('attempt').execute();

async function enqueueHealthCheck(m: typeof mode): Promise<string> {
  mode = m;
  const r = await call('POST', '/v1/jobs/maintenance_queue/system_health_check', { body: { payload: {} } });
  expect(r.status).toBe(201);
  return r.body.job_id as string;
}

/** POSTs a form from inside the page (same origin, with its session cookie), following redirects. */
function postForm(page: Page, path: string, body: string): Promise<{ status: number; url: string; text: string }> {
  return page.evaluate(
    async ([url, b]: [string, string]) => {
      const r = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: b,
      });
      return { status: r.status, url: r.url, text: await r.text() };
    },
    [path, body] as [string, string],
  );
}

/** The phone checks: nothing scrolls sideways, charts keep their size, text stays legible. */
async function expectPhoneLayout(page: Page, what: string): Promise<void> {
  const report = await layoutReport(page, 12);
  expect(report.viewport, what).toBe(390);
  expect(report.pageOverflow, `${what}: page scrolls sideways`).toBeLessThanOrEqual(0);
  expect(report.sideways, `${what}: elements scrolling sideways`).toEqual([]);
  expect(report.tablesOutside, `${what}: tables wider than the screen`).toEqual([]);
  expect(report.smallText, `${what}: text under 12 px`).toEqual([]);
  expect(report.badTicks, `${what}: axis labels`).toEqual([]);
  expect(report.outsideCard, `${what}: chart shapes outside their card`).toEqual([]);
  expect(report.charts.length, `${what}: charts`).toBeGreaterThan(0);
  for (const c of report.charts) {
    expect(c.width, `${what}: chart ${c.id} width`).toBeGreaterThanOrEqual(320);
    if (c.plotHeight !== null) expect(c.plotHeight, `${what}: chart ${c.id} plot height`).toBeGreaterThanOrEqual(150);
  }
}

// ---------------------------------------------------------------------------------------------

describe('dashboard in headless Chromium', () => {
  it('shows the SQL numbers, filters them, links every row to its task page and refreshes', async () => {
    const { context, page } = await signIn(ADMIN_KEY);
    await expectNumbers(page, await expectedFromSql());
    await expect.poll(() => page.getByTestId('failures').textContent()).toMatch(/IMAP timeout #\d+/);
    expect((await kpi(page, 'stuck')).value).toBe('1');
    for (const id of ['throughput', 'cost-by-day', 'cost-by-type', 'queues']) {
      expect(await page.locator(`[data-chart="${id}"]`).count(), id).toBe(1);
    }

    // Every row of every list links to its own task page, and names its workspace.
    const links = await page.locator('[data-testid="recent"] tbody tr').evaluateAll((rows) =>
      rows.map((r) => ({
        id: r.getAttribute('data-id'),
        href: r.querySelector('a.task-link')?.getAttribute('href'),
        ws: r.querySelector('td[data-label="Workspace"]')?.textContent?.trim(),
      })),
    );
    const recentSql = await tdb.db
      .selectFrom('autonomous_tasks as t')
      .leftJoin('workspaces as w', 'w.id', 't.workspace_id')
      .select(['t.id', 'w.name'])
      .where('t.created_at', '>=', new Date(Date.now() - 24 * 3_600_000))
      .orderBy('t.created_at', 'desc')
      .orderBy('t.id', 'desc')
      .limit(25)
      .execute();
    expect(links).toEqual(
      recentSql.map((r) => ({ id: r.id, href: `/dashboard/tasks/${r.id}`, ws: r.name ?? 'fleet' })),
    );
    for (const list of ['failures', 'stuck']) {
      const hrefs = await page
        .locator(`[data-testid="${list}"] a.task-link`)
        .evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      expect(hrefs.length, list).toBeGreaterThan(0);
      for (const h of hrefs) expect(h, list).toMatch(/^\/dashboard\/tasks\/[0-9a-f-]{36}$/);
    }
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-all.png`, fullPage: true });

    // The failed list: 10 a page, keyset-paged, every failure of the window exactly once.
    const failedSql = await tdb.db
      .selectFrom('autonomous_tasks')
      .select('id')
      .where('status', 'in', ['failed', 'partial_failure'])
      .where('created_at', '>=', new Date(Date.now() - 24 * 3_600_000))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    expect(failedSql.length).toBeGreaterThan(10);
    const failedIds = () =>
      page.locator('[data-testid="failures"] li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-id')));
    const first = await failedIds();
    expect(first).toHaveLength(10);
    await Promise.all([page.waitForURL(/failed_cursor=/), page.getByTestId('failed-pager-older').click()]);
    const second = await failedIds();
    expect([...first, ...second]).toEqual(failedSql.map((r) => r.id));
    await Promise.all([
      page.waitForURL((u) => !u.searchParams.has('failed_cursor')),
      page.getByTestId('failed-pager-newest').click(),
    ]);
    expect(await failedIds()).toEqual(first);

    // Choosing a workspace applies the filter and the numbers follow the SQL for it.
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('workspace_id') === acme),
      page.getByTestId('filter-workspace_id').selectOption({ label: 'Acme' }),
    ]);
    const acmeExpected = await expectedFromSql(acme);
    expect(acmeExpected.total).not.toBe((await expectedFromSql()).total);
    await expectNumbers(page, acmeExpected);
    const types = await page
      .locator('[data-testid="by-type"] tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-task-type')));
    const { rows: acmeTypes } = await sql<{ task_type: string }>`
      SELECT DISTINCT task_type FROM autonomous_tasks
      WHERE workspace_id = ${acme}::uuid AND executed_at >= now() - interval '24 hours'`.execute(tdb.db);
    expect(types.sort()).toEqual(acmeTypes.map((r) => r.task_type).sort());
    expect(await page.getByTestId('failures').textContent()).not.toContain('2 of 9 metrics failed');
    const wsColumn = await page.locator('[data-testid="recent"] td[data-label="Workspace"]').allTextContents();
    expect(new Set(wsColumn.map((s) => s.trim()))).toEqual(new Set(['Acme']));
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-acme.png`, fullPage: true });

    // The content refreshes itself in place (same filters).
    await seedRows(logger, [{ workspaceId: acme, taskType: 'email_sync', durationMs: 500 }]);
    await page.evaluate("document.dispatchEvent(new Event('visibilitychange'))");
    await expect
      .poll(async () => (await kpi(page, 'total')).value, { timeout: 10_000 })
      .toBe(String(acmeExpected.total + 1));

    // The job search box opens a job's page by its id.
    await page.getByTestId('filter-job').fill(twoAttemptJob);
    await Promise.all([page.waitForURL(/\/dashboard\/tasks\//), page.getByTestId('filter-job').press('Enter')]);
    expect(await page.getByTestId('job-id').getAttribute('data-value')).toBe(twoAttemptJob);

    // A favicon, served without a session, from this service.
    const icon = await page.locator('link[rel="icon"]').getAttribute('href');
    expect(icon).toBe('/dashboard/assets/favicon.svg');
    const res = await fetch(`${cp.url}${icon}`);
    expect([res.status, res.headers.get('content-type')]).toEqual([200, 'image/svg+xml']);
    expect(await res.text()).toMatch(/^<svg /);
    const ico = await fetch(`${cp.url}/favicon.ico`, { redirect: 'manual' });
    expect([ico.status, ico.headers.get('location')]).toEqual([301, icon]);
    await context.close();
  });

  it('puts the queues on a log scale: one delayed job is a short bar with its label in view', async () => {
    const r = await call('POST', '/v1/jobs/analytics_queue/monthly_summary', {
      body: { payload: { workspace_id: globex }, delay_ms: 3_600_000 },
    });
    expect(r.status).toBe(201);
    const { context, page } = await signIn(ADMIN_KEY);
    const lane = page.locator('[data-queue="analytics_queue"] .q-lane[data-state="delayed"]');
    expect(await lane.getAttribute('data-value')).toBe('1');
    const [bar, track, label, card] = await Promise.all([
      lane.locator('.bar').boundingBox(),
      lane.locator('.track').boundingBox(),
      lane.locator('.q-value').boundingBox(),
      page.locator('[data-chart="queues"]').boundingBox(),
    ]);
    expect(bar!.width / track!.width).toBeCloseTo(logScale(1, QUEUE_SCALE_MIN), 2);
    expect(bar!.width / track!.width).toBeLessThan(0.15);
    expect(label!.x + label!.width).toBeLessThanOrEqual(card!.x + card!.width + 0.5);
    expect(await lane.locator('.q-value').evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
    expect(await lane.locator('.q-value').textContent()).toBe('1 delayed');
    await call('POST', `/v1/tasks/${r.body.job_id}/cancel`);
    await context.close();
  });

  it('shows every attempt of a job as SQL has it, with a timeline', async () => {
    const { context, page } = await signIn(ADMIN_KEY);
    const rows = await rowsOf(twoAttemptJob);
    expect(rows).toHaveLength(2);
    await page.goto(`${cp.url}/dashboard/tasks/${rows[0]!.id}`);
    expect(await page.getByTestId('queue').textContent()).toBe('analytics_queue');
    expect(await page.getByTestId('workspace').textContent()).toBe('Acme');
    const cards = page.getByTestId('attempt');
    expect(await cards.count()).toBe(2);
    for (const [i, row] of rows.entries()) {
      const card = cards.nth(i);
      const value = (id: string) => card.getByTestId(id).getAttribute('data-value');
      expect(await card.getAttribute('data-attempt')).toBe(String(row.attempt));
      expect(await value('a-status')).toBe(row.status);
      expect(await value('a-started')).toBe(row.executed_at.toISOString());
      expect(await value('a-finished')).toBe(row.completed_at!.toISOString());
      expect(Number(await value('a-duration'))).toBe(row.duration_ms);
      expect(await card.getByTestId('a-duration').textContent()).toBe(duration(row.duration_ms));
      expect(Number(await value('a-cost'))).toBe(Number(row.cost_estimate_usd));
      expect(await card.getByTestId('a-cost').textContent()).toBe(usd(row.cost_estimate_usd));
      expect(JSON.parse((await card.getByTestId('a-input').textContent())!)).toEqual(row.input_data);
      expect(JSON.parse((await card.getByTestId('a-output').textContent())!)).toEqual(row.output_data);
      if (row.error_message) expect(await card.getByTestId('a-error').textContent()).toBe(row.error_message);
      else expect(await card.getByTestId('a-error').count()).toBe(0);
    }
    const { rows: totals } = await sql<{ ms: string; cost: string }>`
      SELECT sum(duration_ms)::text AS ms, sum(cost_estimate_usd)::text AS cost
      FROM autonomous_tasks WHERE job_id = ${twoAttemptJob}`.execute(tdb.db);
    expect(Number(await page.getByTestId('total-duration').getAttribute('data-value'))).toBe(Number(totals[0]!.ms));
    expect(Number(await page.getByTestId('total-cost').getAttribute('data-value'))).toBe(Number(totals[0]!.cost));
    const lanes = await page
      .locator('[data-chart="timeline"] .tl-row[data-attempt]')
      .evaluateAll((rs) => rs.map((r) => r.getAttribute('data-attempt')));
    expect(lanes).toEqual(['1', '2']);
    // The job has left Redis (seeded rows): nothing to cancel; it finished, so it may run again.
    expect(await page.getByTestId('cancel').count()).toBe(0);
    await page.screenshot({ path: `${ARTIFACTS}/task-page.png`, fullPage: true });
    await context.close();
  });

  it('retries a failed job from its page: the worker runs a new attempt', async () => {
    const jobId = await enqueueHealthCheck('fail');
    await waitFor(async () => (await agent.queue.getJobState(jobId)) === 'failed', { what: 'the job to fail' });
    mode = 'ok';
    const { context, page } = await signIn(ADMIN_KEY);
    await page.goto(`${cp.url}/dashboard/tasks/${jobId}`);
    expect(await page.getByTestId('a-worker').getAttribute('data-value')).toBe(WORKER_ID);
    expect(await page.getByTestId('cancel').count()).toBe(0);
    await Promise.all([page.waitForURL(/notice=retried/), page.getByTestId('retry').click()]);
    expect(await page.getByTestId('notice').textContent()).toContain('Retried.');
    const rows = await waitFor(
      async () => {
        const all = await rowsOf(jobId);
        return all.some((r) => r.status === 'completed') ? all : undefined;
      },
      { what: 'the second attempt' },
    );
    expect(rows.map((r) => [r.attempt, r.status])).toEqual([
      [1, 'failed'],
      [2, 'completed'],
    ]);
    await page.reload();
    expect(await page.getByTestId('attempt').count()).toBe(2);
    expect(await page.getByTestId('attempt').nth(1).getByTestId('a-status').getAttribute('data-value')).toBe(
      'completed',
    );
    // Completed: a second retry enqueues it again as a new job, and the page moves there.
    await Promise.all([page.waitForURL(/notice=requeued/), page.getByTestId('retry').click()]);
    const newJob = new URL(page.url()).pathname.split('/').at(-1)!;
    expect(newJob).not.toBe(jobId);
    await waitFor(async () => (await rowsOf(newJob)).find((r) => r.status === 'completed'), {
      what: 'the requeued job',
    });
    expect((await rowsOf(newJob))[0]!.triggered_by).toBe('retry');
    await context.close();
  });

  it('cancels from the page and says truthfully what happened', async () => {
    const { context, page } = await signIn(ADMIN_KEY);

    // A running job: its worker stops it; the row ends cancelled.
    const running = await enqueueHealthCheck('block');
    await waitFor(() => started.includes(running), { what: 'the job to start' });
    await page.goto(`${cp.url}/dashboard/tasks/${running}`);
    expect(await page.getByTestId('retry').count()).toBe(0);
    await Promise.all([page.waitForURL(/notice=cancelled/), page.getByTestId('cancel').click()]);
    expect(await page.getByTestId('notice').textContent()).toContain('Cancelled.');
    expect((await rowsOf(running)).map((r) => [r.status, r.error_message])).toEqual([
      ['cancelled', 'cancelled: cancelled from the dashboard (by admin)'],
    ]);

    // A worker that does not stop at once: "will be cancelled when recovered", then cancelled.
    const stubborn = await enqueueHealthCheck('stubborn');
    await waitFor(() => started.includes(stubborn), { what: 'the stubborn job to start' });
    await page.goto(`${cp.url}/dashboard/tasks/${stubborn}`);
    await Promise.all([page.waitForURL(/notice=cancel-pending/), page.getByTestId('cancel').click()]);
    expect(await page.getByTestId('notice').textContent()).toContain('Will be cancelled when recovered.');
    releaseStubborn();
    await waitFor(async () => (await rowsOf(stubborn))[0]?.status === 'cancelled', { what: 'the stubborn row' });

    // A page opened before someone else cancelled the job: "already finished" (409).
    mode = 'ok';
    const queued = await call('POST', '/v1/jobs/analytics_queue/monthly_summary', {
      body: { payload: { workspace_id: acme }, delay_ms: 3_600_000 },
    });
    await page.goto(`${cp.url}/dashboard/tasks/${queued.body.job_id}`);
    expect(await page.getByTestId('state').getAttribute('data-value')).toBe('delayed');
    expect((await call('POST', `/v1/tasks/${queued.body.job_id}/cancel`)).status).toBe(200);
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByTestId('cancel').click(),
    ]);
    expect(answer.status()).toBe(409);
    await page.waitForLoadState();
    expect(await page.getByTestId('notice').textContent()).toMatch(/Already finished\.[\s\S]*already finished/);
    expect(await page.getByTestId('cancel').count()).toBe(0);
    await context.close();
  });

  it('refuses an action without the session CSRF token', async () => {
    const queued = await call('POST', '/v1/jobs/analytics_queue/monthly_summary', {
      body: { payload: { workspace_id: acme }, delay_ms: 3_600_000 },
    });
    const jobId = queued.body.job_id as string;
    const { context, page } = await signIn(ADMIN_KEY);
    await page.goto(`${cp.url}/dashboard/tasks/${jobId}`);
    const token = await page.locator('input[name="_csrf"]').first().inputValue();
    const post = (body: string) => postForm(page, `/dashboard/tasks/${jobId}/cancel`, body);
    // Another session's token: the globex key's, from the page of its own queued job.
    const other = await signIn(globexKey);
    const own = await call('POST', '/v1/jobs/analytics_queue/monthly_summary', {
      key: globexKey,
      body: { payload: { workspace_id: globex }, delay_ms: 3_600_000 },
    });
    await other.page.goto(`${cp.url}/dashboard/tasks/${own.body.job_id}`);
    const otherToken = await other.page.locator('input[name="_csrf"]').first().inputValue();
    expect(otherToken).not.toBe(token);
    // Same origin and a valid session cookie, but no token, an empty one, a wrong one, another's.
    for (const body of ['', '_csrf=', `_csrf=${token.slice(0, -2)}xx`, `_csrf=${encodeURIComponent(otherToken)}`]) {
      const r = await post(body);
      expect(r.status, body).toBe(403);
      expect(r.text).toMatch(/_csrf token/);
    }
    // A key in a header (no session) cannot use the dashboard's forms either.
    const byKey = await fetch(`${cp.url}/dashboard/tasks/${jobId}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: `_csrf=${token}`,
    });
    expect(byKey.status).toBe(403);
    expect((await rowsOf(jobId)).map((r) => r.status)).toEqual(['pending']);
    // With the token it works.
    const ok = await post(`_csrf=${encodeURIComponent(token)}`);
    expect([ok.status, new URL(ok.url).searchParams.get('notice')]).toEqual([200, 'cancelled']);
    expect((await rowsOf(jobId)).map((r) => r.status)).toEqual(['cancelled']);
    await other.context.close();
    await context.close();
  });

  it('shows a workspace key its own workspaces, no fleet figures and only the actions it may take', async () => {
    const { context, page } = await signIn(globexKey);
    await expectNumbers(page, await expectedFromSql(globex));
    const options = await page.getByTestId('filter-workspace_id').locator('option').allTextContents();
    expect(options).toEqual(['All my workspaces', 'Globex']);
    expect(await page.locator('a[href="/admin/queues/"]').count()).toBe(0);
    expect(await page.locator('[data-chart="queues"], [data-testid="queues"]').count()).toBe(0);

    // Its own queued job: Cancel (the API lets it), no worker ids.
    const own = await call('POST', '/v1/jobs/analytics_queue/monthly_summary', {
      key: globexKey,
      body: { payload: { workspace_id: globex }, delay_ms: 3_600_000 },
    });
    await page.goto(`${cp.url}/dashboard/tasks/${own.body.job_id}`);
    expect(await page.getByTestId('cancel').count()).toBe(1);
    expect(await page.getByTestId('retry').count()).toBe(0);
    expect(await page.locator('[data-testid="worker"], [data-testid="a-worker"]').count()).toBe(0);
    const token = await page.locator('input[name="_csrf"]').first().inputValue();

    // A fleet job and another workspace's job do not exist for it, on the page or by POST.
    const fleetJob = await enqueueHealthCheck('ok');
    const acmeJob = (
      await call('POST', '/v1/jobs/analytics_queue/monthly_summary', {
        body: { payload: { workspace_id: acme }, delay_ms: 3_600_000 },
      })
    ).body.job_id as string;
    for (const id of [fleetJob, acmeJob, twoAttemptJob]) {
      const r = await page.goto(`${cp.url}/dashboard/tasks/${id}`);
      expect(r?.status(), id).toBe(404);
      expect(await page.getByTestId('error').textContent()).toContain('no task or job with id');
      expect(await page.locator('[data-testid="retry"], [data-testid="cancel"]').count()).toBe(0);
    }
    await page.goto(`${cp.url}/dashboard`);
    const refused = await postForm(page, `/dashboard/tasks/${acmeJob}/cancel`, `_csrf=${encodeURIComponent(token)}`);
    expect(refused.status).toBe(404);
    expect((await rowsOf(acmeJob)).map((r) => r.status)).toEqual(['pending']);
    await context.close();
  });

  it('fits a 390 px phone: no sideways scrolling, charts and text readable', async () => {
    for (const [key, name] of [
      [ADMIN_KEY, 'admin'],
      [globexKey, 'globex'],
    ] as const) {
      const { context, page } = await signIn(key, PHONE);
      await expectPhoneLayout(page, `${name} dashboard`);
      await page.screenshot({ path: `${ARTIFACTS}/phone-dashboard-${name}.png`, fullPage: true });
      if (name === 'admin') {
        const [first] = await rowsOf(twoAttemptJob);
        await page.goto(`${cp.url}/dashboard/tasks/${first!.id}`);
        // Every input and output open: long JSON must wrap, not widen the page.
        await page.evaluate("for (const d of document.querySelectorAll('details')) d.open = true");
        await expectPhoneLayout(page, 'task page');
        await page.screenshot({ path: `${ARTIFACTS}/phone-task-page.png`, fullPage: true });
      }
      await context.close();
    }
  });
});
