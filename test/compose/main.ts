/**
 * `npm run test:compose`: the compose fleet for real.
 *
 * With a throwaway .env (random passwords and keys), `compose up -d --build` of
 * docker-compose.agents.yml plus test/compose/docker-compose.stubs.yml (local Gmail, OAuth,
 * transcription and media stubs); waits for every service to be healthy; inserts the rows a full
 * round trip needs; enqueues one job of every catalog type through the HTTP API and polls each
 * to a completed row; checks the rows and their effects in Postgres; checks least privilege in
 * the running containers (uid, capabilities, no_new_privs, read-only root, which container holds
 * which secret, which database role each process uses); then runs `compose stop` while a long
 * transcription is in flight and checks that it finished or was retried with its row closed;
 * then `down -v`. Prints a step / result / seconds table last; exits 0 only if every step passed.
 *
 * Engines: DOCKER_HOST (Docker, or podman's Docker API); with neither a Docker socket nor
 * DOCKER_HOST but podman installed, it starts `podman system service` itself. On podman it runs
 * the health checks itself (podman schedules them with systemd timers, absent without systemd).
 * Env: COMPOSE ("docker compose" | "docker-compose"), TEST_COMPOSE_NO_CACHE=1 (rebuild the image
 * from scratch), TEST_COMPOSE_KEEP=1 (leave the fleet running), HEALTHY_TIMEOUT_S (300),
 * JOBS_TIMEOUT_S (180).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { type ComposeProject, composeProject } from './compose.ts';
import {
  type ContainerInfo,
  type Engine,
  engineAt,
  inspect,
  isPodman,
  projectContainers,
  reachable,
  serviceOf,
  startHealthTicker,
  startPodmanService,
} from './engine.ts';
import { type Fixtures, insertFixtures, psqlJson } from './fixtures.ts';
import {
  databaseSessions,
  formatHardening,
  hardeningOf,
  hardeningProblems,
  secretPlacementProblems,
} from './hardening.ts';
import { apiClient, catalogJobs, enqueue, type JobRun, payloads, poll, pollAll } from './round-trip.ts';
import { createSteps, StepFailed } from './steps.ts';
import { freePort, throwawayEnv, writeEnvFile } from './throwaway-env.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FILES = ['docker-compose.agents.yml', 'test/compose/docker-compose.stubs.yml'];
const IMAGE = 'agent-fleet:compose-test';
const HEALTHY_TIMEOUT_MS = Number(process.env.HEALTHY_TIMEOUT_S ?? 300) * 1000;
const JOBS_TIMEOUT_MS = Number(process.env.JOBS_TIMEOUT_S ?? 180) * 1000;
const AGENTS = [
  'contact-intelligence',
  'analytics',
  'email-integration',
  'continuous-intelligence',
  'media-transcription',
  'scheduler',
  'content-calendar',
  'social-publisher',
];

/** Epoch ms of an engine timestamp (podman gives nanoseconds, which Date.parse may refuse). */
const ts = (iso: string) => Date.parse(iso.replace(/(\.\d{3})\d+/, '$1'));
const log = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ServiceSpec {
  profiles?: string[];
  stop_grace_period?: string;
}

/** The services `up` starts (no profile), from the files themselves, with their stop grace. */
function plannedServices(): Map<string, number> {
  const out = new Map<string, number>();
  for (const file of FILES) {
    const doc = parse(readFileSync(join(ROOT, file), 'utf8'), { merge: true }) as {
      services: Record<string, ServiceSpec>;
    };
    for (const [name, s] of Object.entries(doc.services)) {
      if (s.profiles?.length) continue;
      const grace = /^(\d+)s$/.exec(s.stop_grace_period ?? '')?.[1];
      if (grace || !out.has(name)) out.set(name, grace ? Number(grace) : (out.get(name) ?? 10));
    }
  }
  return out;
}

async function containersByService(engine: Engine, project: string): Promise<Map<string, ContainerInfo[]>> {
  const out = new Map<string, ContainerInfo[]>();
  for (const c of await projectContainers(engine, project)) {
    const info = await inspect(engine, c.Id);
    const list = out.get(serviceOf(c)) ?? [];
    list.push(info);
    out.set(serviceOf(c), list);
  }
  return out;
}

const isReady = (service: string, c: ContainerInfo) =>
  service === 'migrate'
    ? c.State.Status === 'exited' && c.State.ExitCode === 0
    : c.State.Status === 'running' && c.State.Health?.Status === 'healthy';

/** Waits until every service in `services` is healthy (migrate: exited 0); logs the laggards on timeout. */
async function waitHealthy(engine: Engine, compose: ComposeProject, services: string[], timeoutMs: number) {
  const start = Date.now();
  let lagging: string[] = services;
  while (Date.now() - start < timeoutMs) {
    const states = await containersByService(engine, compose.name);
    lagging = services.filter((s) => {
      const list = states.get(s) ?? [];
      return list.length === 0 || !list.every((c) => isReady(s, c));
    });
    if (lagging.length === 0)
      return `${services.length} services healthy after ${((Date.now() - start) / 1000).toFixed(0)} s`;
    await sleep(1_000);
  }
  const states = await containersByService(engine, compose.name);
  const report: string[] = [];
  for (const s of lagging) {
    for (const c of states.get(s) ?? []) {
      const last = c.State.Health?.Log?.at(-1);
      report.push(
        `---- ${s} (${c.Name}): ${c.State.Status}, health ${c.State.Health?.Status ?? '-'}, exit ${c.State.ExitCode}` +
          (last ? `\n     last health check: exit ${last.ExitCode} ${last.Output.trim().slice(0, 300)}` : ''),
      );
    }
    const logs = await compose.run(['logs', '--no-color', '--tail', '40', s], { allowFailure: true });
    report.push(logs.stdout.trim() || logs.stderr.trim());
  }
  throw new Error(`not healthy within ${timeoutMs / 1000} s: ${lagging.join(', ')}\n${report.join('\n')}`);
}

async function main(): Promise<number> {
  const steps = createSteps(log);
  const work = await mkdtemp(join(tmpdir(), 'fleet-compose-test-'));
  const project = `fleetct${Math.random().toString(36).slice(2, 8)}`;
  const cleanups: (() => Promise<unknown>)[] = [];
  let compose: ComposeProject | undefined;
  let engine: Engine | undefined;
  const keep = process.env.TEST_COMPOSE_KEEP === '1';

  const teardown = async () => {
    if (compose && !keep)
      await compose.run(['down', '-v', '--remove-orphans'], { allowFailure: true, timeoutMs: 300_000 });
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
    cleanups.length = 0;
    if (!keep) await rm(work, { recursive: true, force: true });
  };
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    log('\n[test:compose] interrupted: tearing down');
    void teardown().finally(() => process.exit(130));
  });

  try {
    const env = await throwawayEnv(await freePort(), IMAGE);
    await steps.run(
      'engine',
      async () => {
        const given = process.env.DOCKER_HOST;
        let e = engineAt(given ?? 'unix:///var/run/docker.sock');
        if (!given && !existsSync('/var/run/docker.sock') && !(await reachable(e))) {
          const service = await startPodmanService(work);
          cleanups.push(() => service.stop());
          e = service.engine;
        }
        if (!(await reachable(e))) throw new Error(`no container engine answers at ${e.host}`);
        engine = e;
        const onPodman = await isPodman(e);
        if (onPodman) {
          const ticker = startHealthTicker(e, project);
          cleanups.push(() => ticker.stop());
        }
        await writeEnvFile(join(work, '.env'), env);
        compose = composeProject({
          name: project,
          root: ROOT,
          files: FILES,
          envFile: join(work, '.env'),
          dockerHost: e.host,
        });
        return { podman: onPodman };
      },
      (r) =>
        `${engine!.host} (${r.podman ? 'podman, health checks run by this test' : 'docker'}); ${compose!.command.join(' ')}; project ${project}`,
    );
    const c = compose!;
    const e = engine!;
    const planned = plannedServices();

    // `up -d --build`, with the build done once: every fleet service (and the stubs) runs the
    // same image, but docker-compose 1.x builds it once per service that names the build.
    await steps.run('build the image', async () => {
      const noCache = process.env.TEST_COMPOSE_NO_CACHE === '1';
      await c.run(['build', ...(noCache ? ['--no-cache'] : []), 'migrate'], { timeoutMs: 1_500_000 });
      return `${IMAGE} from docker/Dockerfile${noCache ? ' (--no-cache)' : ''}`;
    });
    await steps.run('compose up -d', async () => {
      await c.run(['up', '-d'], { timeoutMs: 600_000 });
      return `${planned.size} services`;
    });

    await steps.run('every service healthy', () => waitHealthy(e, c, [...planned.keys()], HEALTHY_TIMEOUT_MS));

    const fixtures: Fixtures = await steps.run(
      'fixture rows',
      () => insertFixtures(c, env as { MAIL_TOKEN_ENCRYPTION_KEY: string; STUB_REFRESH_TOKEN: string }),
      (f) => `workspace ${f.workspaceId}, 3 contacts, 2 emails, a mail account, 2 media files`,
    );

    const api = apiClient(`http://127.0.0.1:${env.CONTROL_PLANE_PUBLISHED_PORT}`, env.ADMIN_API_KEY!);
    const runs: JobRun[] = await steps.run(
      'one job of every type through the API',
      async () => {
        const byJob = payloads(fixtures);
        const jobs = catalogJobs();
        const missing = jobs.filter((j) => !byJob[j.job]).map((j) => j.job);
        if (missing.length) throw new Error(`no payload in test/compose/round-trip.ts for: ${missing.join(', ')}`);
        const list = await Promise.all(jobs.map((j) => enqueue(api, j.queue, j.job, byJob[j.job]!)));
        await pollAll(api, list, JOBS_TIMEOUT_MS);
        const w = Math.max(...list.map((r) => r.job.length));
        log(
          list
            .map(
              (r) =>
                `  ${r.job.padEnd(w)}  ${String(r.status).padEnd(10)} ${String(r.state).padEnd(10)} attempts ${r.attempts} ${r.seconds ?? '-'} s ${r.errorMessage ?? ''}`,
            )
            .join('\n'),
        );
        const bad = list.filter((r) => r.status !== 'completed' || r.state !== 'completed');
        if (bad.length)
          throw new Error(
            `not completed: ${bad.map((r) => `${r.job} (${r.status}/${r.state}: ${r.errorMessage ?? 'timed out'})`).join('; ')}`,
          );
        return list;
      },
      (list) => `${list.length} job types, all completed (slowest ${Math.max(...list.map((r) => r.seconds ?? 0))} s)`,
    );

    await steps.run('rows and effects in Postgres', async () => {
      const ids = runs.map((r) => `'${r.jobId}'`).join(',');
      const rows = await psqlJson<Record<string, { status: string; agent: string }>>(
        c,
        `SELECT json_object_agg(job_id, json_build_object('status', status, 'agent', agent_name))
         FROM (SELECT DISTINCT ON (queue_name, job_id) * FROM autonomous_tasks WHERE job_id IN (${ids})
               ORDER BY queue_name, job_id, attempt DESC) t;`,
      );
      const notCompleted = runs.filter((r) => rows[r.jobId]?.status !== 'completed').map((r) => r.job);
      if (notCompleted.length) throw new Error(`last attempt row not completed for: ${notCompleted.join(', ')}`);
      const effects = await psqlJson<Record<string, unknown>>(
        c,
        `SELECT json_build_object(
           'synced_emails', (SELECT count(*) FROM emails WHERE provider_message_id LIKE 'stub-m%'),
           'account_synced', (SELECT last_synced_at IS NOT NULL FROM mail_accounts WHERE id = '${fixtures.accountId}'),
           'calendar_synced', (SELECT sync_token FROM content_calendars WHERE id = '${fixtures.calendarId}'),
           'transcript', (SELECT text FROM media_transcripts WHERE media_file_id = '${fixtures.media['short.wav']}'),
           'scored_contacts', (SELECT count(*) FROM contacts WHERE lead_score IS NOT NULL),
           'insights', (SELECT count(*) FROM email_insights),
           'reports', (SELECT count(*) FROM analytics_reports));`,
      );
      const want = {
        synced_emails: 3,
        account_synced: true,
        calendar_synced: 'stub-sync-token-1',
        transcript: 'Stub transcript of 1.0 seconds of audio.',
        scored_contacts: 3,
      };
      for (const [k, v] of Object.entries(want)) {
        if (effects[k] !== v) throw new Error(`${k} is ${JSON.stringify(effects[k])}, expected ${JSON.stringify(v)}`);
      }
      if (!((effects.insights as number) > 0)) throw new Error('no email insights were written');
      if (!((effects.reports as number) >= 2)) throw new Error('the weekly and monthly reports are missing');
      return `${runs.length} completed rows; ${JSON.stringify(effects)}`;
    });

    await steps.run('least privilege in the running fleet', async () => {
      const rows = await hardeningOf(c, e, project);
      log(formatHardening(rows));
      const problems = hardeningProblems(rows);
      const seen = new Set(rows.map((r) => r.service));
      for (const s of planned.keys()) if (s !== 'migrate' && !seen.has(s)) problems.push(`${s}: not checked`);

      const redis = await c.run([
        'exec',
        '-T',
        'redis',
        'sh',
        '-c',
        'tr "\\0" " " </proc/1/cmdline; echo; cat /proc/1/environ',
      ]);
      if (redis.stdout.includes(env.REDIS_PASSWORD!))
        problems.push('redis-server has the password in its arguments or environment');

      const secrets = {
        POSTGRES_PASSWORD: { value: env.POSTGRES_PASSWORD!, services: ['postgres', 'migrate'] },
        AGENT_DATABASE_PASSWORD: { value: env.AGENT_DATABASE_PASSWORD!, services: ['migrate', ...AGENTS] },
        CONTROL_PLANE_DATABASE_PASSWORD: {
          value: env.CONTROL_PLANE_DATABASE_PASSWORD!,
          services: ['migrate', 'control-plane'],
        },
        REDIS_PASSWORD: { value: env.REDIS_PASSWORD!, services: ['redis', 'control-plane', ...AGENTS] },
        ADMIN_API_KEY: { value: env.ADMIN_API_KEY!, services: ['control-plane'] },
        GOOGLE_CLIENT_SECRET: { value: env.GOOGLE_CLIENT_SECRET!, services: ['email-integration', 'stubs'] },
        MAIL_TOKEN_ENCRYPTION_KEY: {
          value: env.MAIL_TOKEN_ENCRYPTION_KEY!,
          services: ['email-integration', 'content-calendar', 'social-publisher'],
        },
        TRANSCRIPTION_API_KEY: { value: env.TRANSCRIPTION_API_KEY!, services: ['media-transcription', 'stubs'] },
        ENRICHMENT_API_KEY: { value: env.ENRICHMENT_API_KEY!, services: ['contact-intelligence'] },
      };
      const placed = await secretPlacementProblems(e, project, secrets);
      problems.push(...placed.problems);
      log(
        Object.entries(placed.placement)
          .map(([k, v]) => `  ${k}: ${v.join(', ')}`)
          .join('\n'),
      );

      const sessions = await databaseSessions(c);
      log(
        Object.entries(sessions)
          .map(([role, apps]) => `  logged in as ${role}: ${apps.join(', ')}`)
          .join('\n'),
      );
      const agentRole = env.AGENT_DATABASE_USER!;
      const cpRole = env.CONTROL_PLANE_DATABASE_USER!;
      for (const [role, apps] of Object.entries(sessions)) {
        for (const app of apps) {
          const want = app.startsWith('fleet-control-plane') ? cpRole : agentRole;
          if (role !== want) problems.push(`${app} is logged in as ${role}, not ${want}`);
        }
      }
      for (const agent of AGENTS) {
        if (!(sessions[agentRole] ?? []).some((a) => a.startsWith(`fleet-${agent}`)))
          problems.push(`no session of ${agent}`);
      }
      if (problems.length) throw new Error(problems.join('\n'));
      return `${rows.length} running services: no root, CapEff 0, NoNewPrivs 1, read-only root; secrets only where read; agents as ${agentRole}, control plane as ${cpRole}`;
    });

    await steps.run('the fleet CLI service (the control plane’s role)', async () => {
      const tasks = await c.run(['run', '--rm', '-T', 'fleet', 'tasks', '--json', '-n', '50'], { timeoutMs: 180_000 });
      const page = JSON.parse(tasks.stdout) as { tasks: { job_id: string }[] };
      const listed = new Set(page.tasks.map((t) => t.job_id));
      const missing = runs.filter((r) => !listed.has(r.jobId)).map((r) => r.job);
      if (missing.length) throw new Error(`fleet tasks does not list: ${missing.join(', ')}`);
      const status = await c.run(['run', '--rm', '-T', 'fleet', 'status', '--json'], { timeoutMs: 180_000 });
      const report = JSON.parse(status.stdout) as { queues: unknown[] };
      return `fleet tasks lists all ${runs.length} jobs; fleet status reports ${report.queues.length} queues`;
    });

    if (keep) {
      log(`\n[test:compose] TEST_COMPOSE_KEEP=1: fleet left running (project ${project}, env ${join(work, '.env')})`);
      return finish(steps);
    }

    const long = await steps.run(
      'a long job in flight',
      async () => {
        const run = await enqueue(api, 'media_transcription_queue', 'media_transcription', {
          workspace_id: fixtures.workspaceId,
          media_file_id: fixtures.media['long.wav'],
        });
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline) {
          await poll(api, run);
          if (run.status === 'running') return run;
          if (run.status && run.status !== 'pending')
            throw new Error(`the long job ended (${run.status}) before the stop`);
          await sleep(200);
        }
        throw new Error('the long job never started');
      },
      (r) => `media_transcription ${r.jobId} running (the stub holds it for ${env.STUB_SLOW_TRANSCRIPTION_MS} ms)`,
    );

    const stoppedAt = new Date();
    await steps.run('compose stop while it runs', async () => {
      await c.run(['stop'], { timeoutMs: 400_000 });
      const states = await containersByService(e, project);
      const problems: string[] = [];
      const lines: string[] = [];
      for (const [service, grace] of planned) {
        if (service === 'migrate') continue;
        for (const info of states.get(service) ?? []) {
          const took = (ts(info.State.FinishedAt) - stoppedAt.getTime()) / 1000;
          lines.push(
            `  ${service.padEnd(24)} exit ${info.State.ExitCode} after ${took.toFixed(1)} s (grace ${grace} s)`,
          );
          if (info.State.Status !== 'exited' || info.State.ExitCode !== 0)
            problems.push(`${service} exited ${info.State.ExitCode}`);
          else if (!(took < grace)) problems.push(`${service} took ${took.toFixed(1)} s, grace ${grace} s`);
        }
      }
      log(lines.join('\n'));
      if (problems.length) throw new Error(problems.join('; '));
      return 'every container exited 0 within its stop_grace_period';
    });

    await steps.run('the long job finished or was retried, its row closed', async () => {
      await c.run(['start', 'postgres', 'redis']);
      await waitHealthy(e, c, ['postgres', 'redis'], 120_000);
      const rows =
        (await psqlJson<
          { attempt: number; status: string; completed_at: string | null; error: string | null }[] | null
        >(
          c,
          `SELECT json_agg(json_build_object('attempt', attempt, 'status', status, 'completed_at', completed_at,
                  'error', error_message) ORDER BY attempt)
           FROM autonomous_tasks WHERE queue_name = 'media_transcription_queue' AND job_id = '${long.jobId}';`,
        )) ?? [];
      const state = (
        await c.run([
          'exec',
          '-T',
          'redis',
          'sh',
          '-c',
          `q='{fleet}:media_transcription_queue'; id='${long.jobId}'
           for s in completed failed delayed; do [ -n "$(redis-cli --no-auth-warning ZSCORE "$q:$s" "$id")" ] && echo $s; done
           for l in wait active paused; do [ -n "$(redis-cli --no-auth-warning LPOS "$q:$l" "$id")" ] && echo $l; done; true`,
        ])
      ).stdout.trim();
      const open = rows.filter((r) => r.status === 'pending' || r.status === 'running');
      if (open.length) throw new Error(`rows left open: ${JSON.stringify(open)}`);
      const last = rows.at(-1);
      if (last?.status === 'completed' && state === 'completed') {
        if (!(Date.parse(last.completed_at!) > stoppedAt.getTime()))
          throw new Error('it completed before the stop began');
        return `finished during the drain (attempt ${last.attempt}, completed ${((Date.parse(last.completed_at!) - stoppedAt.getTime()) / 1000).toFixed(1)} s after the stop began)`;
      }
      if (last?.status === 'failed' && (state === 'wait' || state === 'delayed')) {
        return `retried: attempt ${last.attempt} closed as failed (${last.error}), job ${state}`;
      }
      throw new Error(`neither finished nor retried: rows ${JSON.stringify(rows)}, job state '${state}'`);
    });

    await steps.run('compose down -v', async () => {
      await c.run(['down', '-v', '--remove-orphans'], { timeoutMs: 300_000 });
      const label = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }));
      const left = {
        containers: (await projectContainers(e, project)).length,
        volumes: ((await e.call<{ Volumes: unknown[] | null }>('GET', `/volumes?filters=${label}`)).body.Volumes ?? [])
          .length,
        networks: (await e.call<unknown[]>('GET', `/networks?filters=${label}`)).body.length,
      };
      if (left.containers + left.volumes + left.networks > 0) throw new Error(`left behind: ${JSON.stringify(left)}`);
      compose = undefined;
      return 'no container, volume or network left';
    });
  } catch (error) {
    if (!(error instanceof StepFailed)) log(`[test:compose] ${error instanceof Error ? error.stack : error}`);
    if (steps.records.every((r) => r.ok))
      steps.records.push({ name: 'setup', ok: false, seconds: 0, note: String(error) });
  } finally {
    if (!interrupted) await teardown();
  }
  return finish(steps);
}

function finish(steps: ReturnType<typeof createSteps>): number {
  log(`\n${'='.repeat(100)}\ntest:compose summary\n${steps.summary()}`);
  return steps.records.every((r) => r.ok) ? 0 : 1;
}

process.exitCode = await main();
