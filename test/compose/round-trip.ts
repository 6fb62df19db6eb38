/**
 * One job of every type in the catalog, enqueued through the control plane's HTTP API and
 * polled there until terminal. A job type without a payload here fails the run, so a new job
 * type cannot be left out of the compose test.
 */
import { catalog, QUEUE_NAMES } from '@fleet/catalog';
import type { Fixtures } from './fixtures.ts';

export interface JobRun {
  queue: string;
  job: string;
  jobId: string;
  statusUrl: string;
  /** The latest attempt's row status and the BullMQ job state, as the API reports them. */
  status?: string;
  state?: string;
  attempts?: number;
  errorMessage?: string | null;
  seconds?: number;
}

const TERMINAL = new Set(['completed', 'failed', 'partial_failure', 'cancelled']);
const LIVE_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

/** The payload of each catalog job for the fixtures (the long media file is kept for the stop). */
export function payloads(f: Fixtures): Record<string, Record<string, unknown>> {
  const ws = { workspace_id: f.workspaceId };
  return {
    lead_scoring_batch: ws,
    contact_enrichment: ws,
    daily_analytics_rollup: ws,
    weekly_report_generation: ws,
    monthly_summary: ws,
    campaign_optimization: ws,
    // No post is due in the fixtures: the job publishes nothing and completes.
    social_media_posting: ws,
    email_sync: { ...ws, account_id: f.accountId },
    continuous_intelligence_update: ws,
    media_transcription: { ...ws, media_file_id: f.media['short.wav'] },
    content_calendar_sync: { ...ws, calendar_id: f.calendarId },
    system_health_check: {},
    data_cleanup: {},
  };
}

/** Every (queue, job) of the catalog. */
export function catalogJobs(): { queue: string; job: string }[] {
  return QUEUE_NAMES.flatMap((queue) => Object.keys(catalog[queue].jobs).map((job) => ({ queue, job })));
}

export function apiClient(baseUrl: string, key: string) {
  return async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, body: parsed as T };
  };
}

export type ApiCall = ReturnType<typeof apiClient>;

export async function enqueue(
  call: ApiCall,
  queue: string,
  job: string,
  payload: Record<string, unknown>,
): Promise<JobRun> {
  const res = await call<{ job_id: string; status_url: string }>('POST', `/v1/jobs/${queue}/${job}`, { payload });
  if (res.status !== 201)
    throw new Error(`POST /v1/jobs/${queue}/${job}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return { queue, job, jobId: res.body.job_id, statusUrl: res.body.status_url };
}

interface Detail {
  task?: { status?: string; error_message?: string | null };
  job?: { state?: string } | null;
  attempts?: unknown[];
}

/** Refreshes `run` from the API; true once its row is terminal and BullMQ is done with it. */
export async function poll(call: ApiCall, run: JobRun): Promise<boolean> {
  const res = await call<Detail>('GET', run.statusUrl);
  if (res.status !== 200) return false;
  run.status = res.body.task?.status;
  run.state = res.body.job?.state;
  run.attempts = res.body.attempts?.length;
  run.errorMessage = res.body.task?.error_message;
  return TERMINAL.has(run.status ?? '') && !LIVE_STATES.has(run.state ?? '');
}

/** Polls every run until all are terminal or the deadline passes; sets each one's seconds. */
export async function pollAll(call: ApiCall, runs: JobRun[], timeoutMs: number): Promise<void> {
  const start = Date.now();
  const pending = new Set(runs);
  while (pending.size > 0 && Date.now() - start < timeoutMs) {
    for (const run of [...pending]) {
      if (await poll(call, run)) {
        run.seconds = Math.round((Date.now() - start) / 100) / 10;
        pending.delete(run);
      }
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 300));
  }
}
