import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTestDatabase, createTestRedis, seedWorkspaces, type TestDatabase, type TestRedis } from '@fleet/testing';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockfileFor } from './lockfile.ts';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const clientDir = join(here, '..');
const repo = join(clientDir, '../..');
const tsc = join(repo, 'node_modules/typescript/bin/tsc');

let tdb: TestDatabase;
let tredis: TestRedis;
let project: string;
let workspaceId: string;

/**
 * The client as another service gets it: built, packed with `npm pack`, installed from the
 * tarball into a project outside the monorepo (no workspace, no parent node_modules), offline.
 */
beforeAll(async () => {
  tdb = await createTestDatabase('client_tarball');
  tredis = createTestRedis('client-tarball');
  [workspaceId] = (await seedWorkspaces(tdb.db, 1)) as [string];
  project = await mkdtemp(join(tmpdir(), 'fleet-client-consumer-'));
  await run(process.execPath, ['--import', 'tsx', join(clientDir, 'build.ts')], { cwd: clientDir });
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', project], { cwd: clientDir });
  const tarballName = (await readdir(project)).find((f) => f.endsWith('.tgz'))!;
  const client = JSON.parse(await readFile(join(clientDir, 'package.json'), 'utf8'));
  const nodeTypes = JSON.parse(await readFile(join(repo, 'node_modules/@types/node/package.json'), 'utf8')).version;
  const { lock, dependencies } = await lockfileFor({
    repoLock: join(repo, 'package-lock.json'),
    tarball: join(project, tarballName),
    tarballName,
    client,
    extra: { '@types/node': nodeTypes },
  });
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies }),
  );
  await writeFile(join(project, 'package-lock.json'), JSON.stringify(lock));
  await run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: project });
}, 120_000);

afterAll(async () => {
  await tredis?.cleanup();
  await tdb?.drop();
  if (project) await rm(project, { recursive: true, force: true });
});

describe('@fleet/client installed from its tarball', () => {
  it('holds only built files and imports no fleet package at run time', async () => {
    const installed = join(project, 'node_modules/@fleet/client');
    const pkg = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8'));
    expect(pkg.private).toBeUndefined();
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', import: './dist/index.js' });
    const files = await readdir(installed, { recursive: true });
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(await readdir(join(project, 'node_modules/@fleet'))).toEqual(['client']);
  });

  it('enqueues a job against Redis with its pending audit row', async () => {
    await writeFile(
      join(project, 'enqueue.mjs'),
      `import { createFleetClient, catalog } from '@fleet/client';
const client = createFleetClient({ redisUrl: process.env.REDIS_URL, prefix: process.env.PREFIX, databaseUrl: process.env.DATABASE_URL });
const r = await client.enqueue('analytics_queue', 'daily_analytics_rollup', { workspace_id: process.env.WS, date: '2026-01-31' }, { delay: 60000 });
await client.close();
console.log(JSON.stringify({ ...r, agent: catalog.analytics_queue.agent }));
`,
    );
    const { stdout } = await run(process.execPath, ['enqueue.mjs'], {
      cwd: project,
      env: { ...process.env, REDIS_URL: tredis.url, PREFIX: tredis.prefix, DATABASE_URL: tdb.url, WS: workspaceId },
    });
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ queue: 'analytics_queue', jobName: 'daily_analytics_rollup', created: true });
    const queue = new Queue('analytics_queue', { connection: { url: tredis.url }, prefix: tredis.prefix });
    try {
      const job = await queue.getJob(result.jobId);
      expect(job?.name).toBe('daily_analytics_rollup');
      expect(job?.data).toMatchObject({ workspace_id: workspaceId, date: '2026-01-31', triggered_by: 'api' });
      expect(await job?.getState()).toBe('delayed');
    } finally {
      await queue.close();
    }
    const row = await tdb.db
      .selectFrom('autonomous_tasks')
      .select(['status', 'task_type', 'workspace_id', 'attempt'])
      .where('job_id', '=', result.jobId)
      .executeTakeFirst();
    expect(row).toEqual({
      status: 'pending',
      task_type: 'daily_analytics_rollup',
      workspace_id: workspaceId,
      attempt: 1,
    });
  });

  it('type-checks a right payload and refuses a wrong one with a type error', async () => {
    const call = (payload: string) => `import { createFleetClient } from '@fleet/client';
const client = createFleetClient({ redisUrl: 'redis://127.0.0.1:6379' });
await client.enqueue('analytics_queue', 'daily_analytics_rollup', ${payload});
`;
    await writeFile(join(project, 'right.ts'), call(`{ workspace_id: 'a', date: '2026-01-31' }`));
    await writeFile(join(project, 'wrong.ts'), call(`{ workspace_id: 42, colour: 'red' }`));
    // One compiler run with the flags of a typical strict ESM project: errors in wrong.ts only.
    const flags = ['--noEmit', '--strict', '--module', 'NodeNext', '--target', 'ES2022', '--skipLibCheck'];
    const out = await run(process.execPath, [tsc, ...flags, '--types', 'node', 'right.ts', 'wrong.ts'], {
      cwd: project,
    }).then(
      () => 'no error',
      (e: { stdout: string }) => e.stdout,
    );
    const errors = out.split('\n').filter((l) => /error TS/.test(l));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.filter((l) => !l.startsWith('wrong.ts('))).toEqual([]);
    expect(errors[0]).toMatch(/^wrong\.ts\(3,\d+\): error TS2322: Type 'number' is not assignable to type 'string'/);
  });
});
