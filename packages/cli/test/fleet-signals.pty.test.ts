/**
 * Ctrl-C in a real terminal (tmux): `npm run fleet` as a person runs it, so the signal reaches
 * npm, tsx and the runner at once, and tsx may relay a copy. One Ctrl-C drains every process
 * gracefully — a job that is running finishes and its row is completed — and only a second,
 * deliberate Ctrl-C after a pause kills them, with the running job's row closed, not left running.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProducer, type Producer } from '@fleet/queues';
import {
  createTestDatabase,
  createTestRedis,
  createWorkspace,
  type TestDatabase,
  type TestRedis,
  waitFor,
} from '@fleet/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/fleet/ports.ts';
import { REPO_ROOT } from '../src/fleet/registry.ts';
import { createMediaFile, startHeldTranscriptionServer } from './support/media-stub.ts';
import { descendants } from './support/processes.ts';
import { openPane, type TmuxPane } from './support/tmux.ts';

let t: TestDatabase;
let r: TestRedis;
let producer: Producer;
let stub: Awaited<ReturnType<typeof startHeldTranscriptionServer>>;
let mediaRoot: string;
let workspaceId: string;
let pane: TmuxPane | undefined;

beforeAll(async () => {
  t = await createTestDatabase('fleet_pty');
  r = createTestRedis('fleet-pty');
  producer = createProducer({ redis: r.url, prefix: r.prefix, db: t.db });
  stub = await startHeldTranscriptionServer();
  mediaRoot = await mkdtemp(join(tmpdir(), 'fleet-pty-media-'));
  workspaceId = await createWorkspace(t.db);
});

afterEach(() => {
  pane?.close();
  pane = undefined;
});

afterAll(async () => {
  await producer?.close();
  await stub?.close();
  await r.cleanup();
  await t.drop();
  await rm(mediaRoot, { recursive: true, force: true });
});

/**
 * `npm run fleet` as the README says, and node directly: npm reports its own death by the
 * terminal's SIGINT whatever the runner exits with, so the runner's exit code is read without it.
 * (The script runs node with tsx's loader rather than the tsx CLI: that wrapper relays a signal its
 * child has not acknowledged within 30 ms and SIGKILLs a child that has not within 60 ms, which
 * would orphan the fleet's processes on a busy machine.)
 */
const NPM = 'npm run fleet --';
const NODE = 'node --import tsx packages/cli/src/main.ts up';

/** `fleet up media-transcription` in a terminal, with a job held by the provider. */
async function fleetWithRunningJob(launcher: string): Promise<{ jobId: string }> {
  const basePort = await freePort();
  pane = openPane(`${launcher} media-transcription --no-migrate --base-port ${basePort - 4} --stop-grace 20000`, {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: t.url,
      REDIS_URL: r.url,
      QUEUE_PREFIX: r.prefix,
      TRANSCRIPTION_BASE_URL: stub.baseUrl,
      MEDIA_ROOT: mediaRoot,
      SHUTDOWN_GRACE_MS: '15000',
      LOG_LEVEL: 'warn',
    },
  });
  const p = pane;
  await waitFor(() => p.output().includes('fleet ready: 1 of 1 processes healthy'), {
    timeoutMs: 60_000,
    intervalMs: 100,
    what: `fleet ready; the pane shows:\n${p.output().slice(-2000)}`,
  });
  const seen = stub.uploads.length;
  const mediaFileId = await createMediaFile(t.db, workspaceId, mediaRoot);
  const { jobId } = await producer.enqueue('media_transcription_queue', 'media_transcription', {
    workspace_id: workspaceId,
    media_file_id: mediaFileId,
  });
  await waitFor(() => stub.uploads.length > seen, { timeoutMs: 20_000, what: 'the upload to reach the provider' });
  return { jobId };
}

/** The fleet runner (`packages/cli/src/main.ts up`) among the pane's processes. */
function runnerPid(p: TmuxPane): number {
  // The node process itself, not a shell whose command line names it (npm runs scripts with sh -c).
  const runner = descendants(p.pid()).findLast((x) =>
    /^\S*node --import tsx packages\/cli\/src\/main\.ts up/.test(x.args),
  );
  if (!runner) throw new Error(`no fleet runner under the pane: ${JSON.stringify(descendants(p.pid()))}`);
  return runner.pid;
}

const rowsOf = (jobId: string) =>
  t.db
    .selectFrom('autonomous_tasks')
    .select(['attempt', 'status', 'error_message'])
    .where('job_id', '=', jobId)
    .execute();

describe('Ctrl-C in a terminal', () => {
  for (const [launcher, how] of [
    [NPM, 'npm run fleet'],
    [NODE, 'node'],
  ] as const) {
    it(`drains gracefully once under ${how}, even when the signal arrives twice in the same instant`, {
      timeout: 120_000,
    }, async () => {
      const { jobId } = await fleetWithRunningJob(launcher);
      const p = pane!;
      const runner = runnerPid(p);
      p.sendKeys('C-c');
      await waitFor(() => p.output().includes('SIGINT: stopping 1 processes gracefully'), {
        what: `the graceful stop; the pane shows:\n${p.output().slice(-2000)}`,
      });
      // The copy a wrapper relays (tsx, when the runner does not acknowledge within 30 ms): the
      // same signal again a moment later. Sent once the first was handled, because the kernel
      // merges two SIGINTs that are pending at once.
      process.kill(runner, 'SIGINT');
      await waitFor(() => /SIGINT \d+ ms after the first: the same stop request/.test(p.output()), {
        what: `the copy to be taken as the same request; the pane shows:\n${p.output().slice(-2000)}`,
      });
      // The job is still running (the provider has not answered): the stop waits for it.
      expect((await rowsOf(jobId)).map((x) => x.status)).not.toContain('completed');
      stub.answerAll();
      await waitFor(() => p.output().includes('all stopped') || p.exitStatus() !== null, {
        timeoutMs: 60_000,
        what: 'the fleet to stop',
      });
      const output = p.output();
      expect(output, output.slice(-3000)).toContain('all stopped');
      expect(output).toContain('media-transcription: stopped (code 0)');
      expect(output).not.toContain('killing every process');
      if (launcher === NODE) {
        await waitFor(() => p.exitStatus() !== null, {
          what: `the runner to exit; the pane shows:\n${p.output().slice(-1500)}`,
        });
        expect(p.exitStatus()).toBe(0);
      }
      expect(await rowsOf(jobId)).toEqual([{ attempt: 1, status: 'completed', error_message: null }]);
    });
  }

  it('kills everything on a second Ctrl-C after a pause, and closes the running job row', {
    timeout: 120_000,
  }, async () => {
    const { jobId } = await fleetWithRunningJob(NODE);
    const p = pane!;
    p.sendKeys('C-c');
    await waitFor(() => p.output().includes('SIGINT: stopping 1 processes gracefully'), { what: 'the graceful stop' });
    // A deliberate second Ctrl-C comes after a pause (the behaviour under test is the pause).
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    p.sendKeys('C-c');
    await waitFor(() => p.exitStatus() !== null, { timeoutMs: 30_000, what: 'the fleet to exit' });
    const output = p.output();
    expect(output, output.slice(-3000)).toContain('SIGINT again: killing every process now');
    expect(p.exitStatus()).not.toBe(0);
    // The supervisor saw its child die and closed the attempt it was running.
    const rows = await rowsOf(jobId);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.status).toBe('failed');
    expect(rows[0]!.error_message).toMatch(/^worker lost: media-transcription-\w+ exited with signal SIGKILL/);
  });
});
