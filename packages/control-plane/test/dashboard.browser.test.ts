import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTaskLogger, type TaskLogger } from '@fleet/task-logger';
import {
  createTestDatabase,
  createTestRedis,
  seedRows,
  seedWorkspaces,
  type TestDatabase,
  type TestRedis,
} from '@fleet/testing';
import { sql } from 'kysely';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, pct, usd } from '../src/dashboard/format.ts';
import { type RunningControlPlane, startControlPlane } from '../src/index.ts';
import { ADMIN_KEY, controlPlaneEnv } from './helpers.ts';

/** Debian's chromium; the test never downloads a browser. CI must install the package. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../artifacts/control-plane');

let tdb: TestDatabase;
let tredis: TestRedis;
let cp: RunningControlPlane;
let logger: TaskLogger;
let browser: Browser;
let acme: string;
let globex: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install it with "apt-get install -y chromium" (or set CHROMIUM_PATH). The dashboard browser test needs a real headless browser.`,
    );
  }
  tdb = await createTestDatabase('cp_browser');
  tredis = createTestRedis('cp-browser');
  logger = createTaskLogger({ db: tdb.db });
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
  ]);
  cp = await startControlPlane({ env: controlPlaneEnv(tdb.url, tredis.url, tredis.prefix) });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
});

afterAll(async () => {
  await browser?.close();
  await cp?.close();
  await logger?.close();
  await tredis?.cleanup();
  await tdb?.drop();
});

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
  expect(Number((await kpi(page, 'p95-duration')).value)).toBeCloseTo(Number(e.p95), 6);
  const cost = await kpi(page, 'cost');
  expect(Number(cost.value)).toBe(Number(e.cost));
  expect(cost.text).toBe(usd(e.cost));
}

describe('dashboard in headless Chromium', () => {
  it('shows the SQL numbers, filters them, and fits a phone screen', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${cp.url}/dashboard`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/login');
    await page.getByTestId('key').fill(ADMIN_KEY);
    await Promise.all([page.waitForURL(`${cp.url}/dashboard`), page.getByTestId('sign-in').click()]);

    await expectNumbers(page, await expectedFromSql());
    // The failure list carries the error messages; the stuck row is listed.
    await expect.poll(() => page.getByTestId('failures').textContent()).toContain('Gmail token expired');
    expect(await page.getByTestId('failures').textContent()).toContain('2 of 9 metrics failed');
    expect((await kpi(page, 'stuck')).value).toBe('1');
    expect(await page.locator('svg.chart').count()).toBeGreaterThanOrEqual(3);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-all.png`, fullPage: true });

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
    expect(types.sort()).toEqual(['email_sync', 'lead_scoring_batch']);
    expect(await page.getByTestId('failures').textContent()).not.toContain('2 of 9 metrics failed');
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-acme.png`, fullPage: true });

    // The content refreshes itself in place (same filters).
    await seedRows(logger, [{ workspaceId: acme, taskType: 'email_sync', durationMs: 500 }]);
    await page.evaluate("document.dispatchEvent(new Event('visibilitychange'))");
    await expect
      .poll(async () => (await kpi(page, 'total')).value, { timeout: 10_000 })
      .toBe(String(acmeExpected.total + 1));
    await context.close();

    // A phone: nothing wider than the screen except scrollable tables.
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const p2 = await phone.newPage();
    await p2.goto(`${cp.url}/dashboard/login`);
    await p2.getByTestId('key').fill(ADMIN_KEY);
    await Promise.all([p2.waitForURL(`${cp.url}/dashboard`), p2.getByTestId('sign-in').click()]);
    const overflow = await p2.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await p2.screenshot({ path: `${ARTIFACTS}/dashboard-phone.png`, fullPage: true });
    await phone.close();
  });

  it('shows a workspace key only its own workspaces', async () => {
    const res = await fetch(`${cp.url}/v1/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'globex dashboard', workspace_ids: [globex] }),
    });
    const { key } = (await res.json()) as { key: string };
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${cp.url}/dashboard/login`);
    await page.getByTestId('key').fill(key);
    await Promise.all([page.waitForURL(`${cp.url}/dashboard`), page.getByTestId('sign-in').click()]);
    await expectNumbers(page, await expectedFromSql(globex));
    const options = await page.getByTestId('filter-workspace_id').locator('option').allTextContents();
    expect(options).toEqual(['All my workspaces', 'Globex']);
    expect(await page.locator('a[href="/admin/queues/"]').count()).toBe(0);
    await context.close();
  });
});
