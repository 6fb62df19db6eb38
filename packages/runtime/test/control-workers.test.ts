/**
 * An agent's control workers (defineAgent({ controlWorkers })): the runtime runs their jobs with
 * the agent's deps and logger, counts them in /metrics, reports them in /readyz, and drains them
 * on close like the agent's own worker. Their jobs are not audited.
 */
import { Writable } from 'node:stream';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis, waitFor } from '@fleet/testing';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineAgent, type RunningAgent, startAgent } from '../src/index.ts';
import { sleep } from './fixtures/test-agent.ts';
import { agentEnv } from './helpers.ts';

const CONTROL_QUEUE = 'test_control_events';

interface ControlData {
  /** Makes the processor throw this message. */
  fail?: string;
  /** Makes the processor wait until the test releases this gate (or its signal aborts). */
  gate?: string;
}

let t: TestDatabase;
let r: TestRedis;
let control: Queue;
const running: RunningAgent[] = [];
const lines: Array<Record<string, unknown>> = [];
/** What the processors did, in order: `started:<gate>`, `finished:<gate>`, `aborted:<gate>`. */
const events: string[] = [];
const gates = new Map<string, () => void>();

function gate(name: string): Promise<void> {
  return new Promise((resolve) => gates.set(name, resolve));
}

const agent = defineAgent({
  name: 'control-test',
  queue: 'maintenance_queue',
  concurrency: 2,
  setup: () => ({ greeting: 'from setup' }),
  handlers: {
    system_health_check: async () => ({ output: {} }),
    data_cleanup: async () => ({ output: {} }),
  },
  controlWorkers: [
    {
      queue: CONTROL_QUEUE,
      concurrency: (deps) => (deps.greeting ? 3 : 1),
      async process(job, { deps, log, signal }) {
        const data = job.data as ControlData;
        if (data.fail) throw new Error(data.fail);
        if (data.gate) {
          events.push(`started:${data.gate}`);
          const released = gate(data.gate);
          await Promise.race([
            released,
            new Promise((_, reject) =>
              signal.addEventListener('abort', () => reject(new Error(`aborted: ${signal.reason}`)), { once: true }),
            ),
          ]).catch((error: Error) => {
            events.push(`aborted:${data.gate}`);
            throw error;
          });
          // A last await after the release, so a close that did not wait would resolve first.
          await sleep(50);
          events.push(`finished:${data.gate}`);
        }
        log.info({ gate: data.gate }, 'control job done');
        return { greeting: deps.greeting, job: job.id };
      },
    },
  ],
});

const sink = new Writable({
  write(chunk, _encoding, done) {
    for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
    done();
  },
});

async function start(extra: Record<string, string> = {}): Promise<RunningAgent> {
  const a = await startAgent(agent, {
    env: agentEnv(t.url, r.url, r.prefix, { LOG_LEVEL: 'info', ...extra }),
    logDestination: sink,
  });
  running.push(a);
  return a;
}

async function stateOf(jobId: string) {
  return (await control.getJob(jobId))?.getState();
}

beforeAll(async () => {
  t = await createTestDatabase('rt_control');
  r = createTestRedis('rt-control');
  control = new Queue(CONTROL_QUEUE, { connection: { url: r.url }, prefix: r.prefix });
});

afterAll(async () => {
  await Promise.allSettled(running.map((a) => a.close(5_000)));
  await control?.close();
  await r.cleanup();
  await t.drop();
});

describe('control workers', () => {
  it('runs control jobs with the agent deps, without audit rows, and counts them in /metrics', async () => {
    const a = await start();
    expect(a.controlWorkers.map((c) => c.queue)).toEqual([CONTROL_QUEUE]);
    expect(a.controlWorkers[0]!.worker.concurrency).toBe(3);

    const ok = await control.add('event', {});
    const bad = await control.add('event', { fail: 'control went wrong' }, { attempts: 1 });
    await waitFor(async () => (await stateOf(ok.id!)) === 'completed', { what: 'the control job to complete' });
    await waitFor(async () => (await stateOf(bad.id!)) === 'failed', { what: 'the failing control job to fail' });
    expect((await control.getJob(ok.id!))?.returnvalue).toEqual({ greeting: 'from setup', job: ok.id });
    expect((await control.getJob(bad.id!))?.failedReason).toBe('control went wrong');

    const text = await waitFor(
      async () => {
        const body = await (await fetch(`http://127.0.0.1:${a.port}/metrics`)).text();
        return body.includes(
          `fleet_control_jobs_total{queue="${CONTROL_QUEUE}",outcome="failed",agent="control-test"} 1`,
        )
          ? body
          : undefined;
      },
      { what: 'control job counters' },
    );
    expect(text).toContain(
      `fleet_control_jobs_total{queue="${CONTROL_QUEUE}",outcome="completed",agent="control-test"} 1`,
    );
    expect(text).toContain(
      `fleet_control_job_duration_seconds_count{agent="control-test",queue="${CONTROL_QUEUE}",outcome="completed"} 1`,
    );
    expect(text).toContain(`fleet_queue_depth{queue="${CONTROL_QUEUE}",state="failed",agent="control-test"} 1`);
    // Control jobs are not agent work: no audit status counts them, and no row records them.
    expect(text).not.toMatch(/fleet_jobs_total\{[^}]*\} [1-9]/);
    expect(await t.db.selectFrom('autonomous_tasks').select('id').execute()).toEqual([]);

    const failedLine = lines.find((l) => l.msg === 'control job failed' && l.jobId === bad.id);
    expect(failedLine).toMatchObject({ agent: 'control-test', queue: CONTROL_QUEUE, level: 50 });
    expect(lines.find((l) => l.msg === 'control job done' && l.jobId === ok.id)).toMatchObject({
      agent: 'control-test',
      queue: CONTROL_QUEUE,
      attempt: 1,
    });

    await a.close(5_000);
  });

  it('/readyz is 503 naming a control worker that stopped', async () => {
    const a = await start();
    const ready = await fetch(`http://127.0.0.1:${a.port}/readyz`);
    expect(ready.status).toBe(200);
    await a.controlWorkers[0]!.worker.close();
    const res = await fetch(`http://127.0.0.1:${a.port}/readyz`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { checks: Record<string, string> }).checks).toMatchObject({
      redis: 'ok',
      postgres: 'ok',
      [`control:${CONTROL_QUEUE}`]: `control worker of ${CONTROL_QUEUE} closed`,
    });
    await a.close(5_000);
  });

  it('close waits for a running control job to finish', async () => {
    const a = await start();
    const job = await control.add('event', { gate: 'drain' });
    await waitFor(() => events.includes('started:drain'), { what: 'the control job to start' });
    const closed = a.close(10_000).then((drained) => {
      events.push('closed');
      return drained;
    });
    // Shutdown has begun (healthz says so) while the job still runs.
    await waitFor(async () => (await fetch(`http://127.0.0.1:${a.port}/healthz`)).status === 503, {
      what: 'shutdown to begin',
    });
    expect(events).not.toContain('closed');
    gates.get('drain')!();
    expect(await closed).toBe(true);
    expect(events.slice(events.indexOf('started:drain'))).toEqual(['started:drain', 'finished:drain', 'closed']);
    expect(await stateOf(job.id!)).toBe('completed');
  });

  it('past the grace period, aborts a running control job and hands it back for a retry', async () => {
    const a = await start();
    const job = await control.add('event', { gate: 'stuck' }, { attempts: 3 });
    await waitFor(() => events.includes('started:stuck'), { what: 'the control job to start' });
    expect(await a.close(200)).toBe(false);
    expect(events).toContain('aborted:stuck');
    const after = await control.getJob(job.id!);
    expect(after?.failedReason).toBe('aborted: worker shutting down');
    expect(await after?.getState()).toMatch(/^(waiting|delayed)$/);
  });
});
