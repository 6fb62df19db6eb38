import { AuditWriteError, type AuditWriter, type TaskEnd, type TaskStart, taskRowId } from '@fleet/audit-writer';
import {
  attemptIdentity,
  findJob,
  PayloadValidationError,
  taskTypeOf,
  UnknownJobError,
  validatePayload,
} from '@fleet/catalog';
import type { Database, JsonObject, TaskType } from '@fleet/db';
import { FleetAttributes, withSpan } from '@fleet/tracing';
import type { Attributes, Span } from '@opentelemetry/api';
import { DelayedError, type Job, UnrecoverableError, WaitingError } from 'bullmq';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { CancelMarks } from './cancel-marks.ts';
import type { AnyAgent, HandlerContext, HandlerResult } from './define-agent.ts';
import { describeError } from './describe-error.ts';
import { PermanentError, RetryLaterError } from './errors.ts';
import type { HandlerSlots, Release } from './handler-slots.ts';
import type { AgentMetrics, HeldState } from './metrics.ts';
import type { Scrubber } from './secrets.ts';

/** Reason given to AbortController.abort() when the worker stops (vs an operator's cancel). */
export const SHUTDOWN_REASON = 'worker shutting down';

export interface ProcessorDeps {
  agent: AnyAgent;
  deps: unknown;
  db: Kysely<Database>;
  auditWriter: AuditWriter;
  log: Logger;
  scrub: Scrubber;
  metrics: AgentMetrics;
  /** Called for attempts > 1 so earlier attempts lost to a crash get their rows. */
  closeEarlierAttempts(job: Job, start: TaskStart): void;
  /** Cancels recorded for jobs (cancel-marks.ts): honoured before an attempt starts. */
  cancels?: Pick<CancelMarks, 'reasonFor' | 'honoured'>;
  /** The handler slots (WORKER_CONCURRENCY); BullMQ may hold more jobs than there are slots. */
  slots: HandlerSlots;
  /** Called at each step of an attempt, synchronously (see AttemptStep). */
  onStep?: OnAttemptStep;
}

/**
 * The steps of an attempt in this worker: the states of a held job (metrics.ts), then
 * `committed`: its terminal row is durable and BullMQ has not yet acknowledged the job.
 */
export type AttemptStep = HeldState | 'committed';
export type OnAttemptStep = (step: AttemptStep, job: Job) => void;

const MAX_INPUT_BYTES = 64 * 1024;
/** First wait before an attempt whose audit row could not be written runs again. */
const AUDIT_RETRY_MS = 1_000;

/**
 * The payload as stored in input_data: scrubbed of secrets, and summarised when huge. The JSON
 * text is computed once and handed on, so the common payload (small, nothing to scrub) costs one
 * JSON.stringify for validation and the audit row together.
 */
export function inputSnapshot(data: unknown, scrub: Scrubber): { value: JsonObject; json: string; bytes: number } {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    const value = { payload: describe(data) };
    return { value, json: JSON.stringify(value), bytes: 0 };
  }
  let text: string;
  try {
    text = JSON.stringify(data);
  } catch {
    const value = { payload: 'not JSON-serialisable' };
    return { value, json: JSON.stringify(value), bytes: Number.POSITIVE_INFINITY };
  }
  // UTF-8 takes at most 3 bytes per UTF-16 unit: measure exactly only when it could matter.
  const bytes = text.length * 3 <= MAX_INPUT_BYTES ? text.length : Buffer.byteLength(text);
  if (bytes > MAX_INPUT_BYTES) {
    const value = { truncated: true, bytes: Buffer.byteLength(text), keys: Object.keys(data).slice(0, 50) };
    return { value, json: JSON.stringify(value), bytes };
  }
  if (!scrub.mayContainSecrets(text)) return { value: data as JsonObject, json: text, bytes };
  const value = scrub(JSON.parse(text) as JsonObject);
  return { value, json: JSON.stringify(value), bytes };
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/** The message stored in error_message: the error's own, plus what caused it (ECONNREFUSED …). */
const errorText = describeError;

/**
 * The attempt's identity (attemptIdentity) and inputs, known before validation (so even bad jobs
 * get a row). `attempt` defaults to the one BullMQ started last.
 */
export function taskStart(
  job: Job,
  agentName: string,
  taskType: TaskType,
  scrub: Scrubber,
  attempt?: number,
): TaskStart & { payloadBytes: number } {
  const input = inputSnapshot(job.data, scrub);
  return {
    ...attemptIdentity(job, attempt === undefined ? {} : { attempt }),
    taskType,
    agentName,
    inputData: input.value,
    inputJson: input.json,
    payloadBytes: input.bytes,
    executedAt: new Date(job.processedOn ?? Date.now()),
    jobCreatedAt: new Date(job.timestamp),
  };
}

/**
 * Builds the BullMQ processor: validation, audit rows, handler call, and the mapping of outcomes
 * to BullMQ control flow. The terminal row is durable before the returned promise settles, so
 * BullMQ never acknowledges an attempt whose audit row could still be lost.
 */
export function createProcessor(p: ProcessorDeps) {
  const { agent, auditWriter, scrub, metrics } = p;

  /**
   * Each attempt runs in a span (`attempt <queue>.<job>`), a child of BullMQ's `process` span when
   * the worker has telemetry (which continues the trace of the job's enqueue); the handler and
   * the audit writes are its children.
   */
  return function process(job: Job, token?: string, signal?: AbortSignal): Promise<unknown> {
    return withSpan(`attempt ${agent.queue}.${job.name}`, { expected: isControlFlow }, (span) =>
      attempt(job, token, signal, span),
    );
  };

  async function attempt(job: Job, token: string | undefined, signal: AbortSignal | undefined, span: Span) {
    let state: HeldState | null = null;
    const enter = (next: HeldState) => {
      if (state) metrics.held.dec({ queue: agent.queue, state });
      metrics.held.inc({ queue: agent.queue, state: next });
      state = next;
      p.onStep?.(next, job);
    };
    let started = performance.now();
    let release: Release | null = null;
    const def = findJob(agent.queue, job.name);
    const start = taskStart(job, agent.name, taskTypeOf(agent.queue, job.name), scrub);
    const log = p.log.child({
      taskId: taskRowId(start),
      jobId: job.id,
      queue: start.queueName,
      job: job.name,
      workspaceId: start.workspaceId,
      attempt: start.attempt,
    });
    const attributes: Attributes | null = span.isRecording() ? attemptAttributes(start, job) : null;
    if (attributes) span.setAttributes(attributes);
    // Secrets the handler learns (decrypted tokens) are scrubbed until this attempt is settled.
    const secrets = scrub.scope();

    const finish = async (end: TaskEnd): Promise<void> => {
      const status = end.status;
      let durable: Promise<void>;
      try {
        durable = auditWriter.finish(start, {
          ...end,
          errorMessage: end.errorMessage ? scrub(end.errorMessage) : null,
        });
        // The row is queued in the writer: the slot goes to the next job while this one waits
        // for the commit, still unacknowledged (BullMQ holds it in the window).
        enter('awaiting_commit');
        release?.();
        release = null;
        await durable;
      } catch (error) {
        metrics.auditFailures.inc({ queue: agent.queue });
        log.error({ err: error, status }, 'audit row not written; the attempt will be retried');
        throw error instanceof AuditWriteError
          ? error
          : new AuditWriteError(`audit write failed: ${errorText(error)}`, { cause: error });
      }
      p.onStep?.('committed', job);
      metrics.jobs.inc({ queue: agent.queue, job: job.name, status });
      metrics.duration.observe({ queue: agent.queue, job: job.name, status }, (performance.now() - started) / 1000);
    };

    try {
      // A slot free at once costs no promise; otherwise the job waits in the window for one.
      release = p.slots.tryAcquire();
      if (!release) {
        enter('waiting_for_slot');
        try {
          release = await p.slots.acquire(signal);
        } catch (reason) {
          // Aborted while it waited: an operator's cancel, or the shutdown deadline.
          return await abandonWait(reason);
        }
        // The attempt starts when it gets a slot; the time it waited in the window is not its own.
        started = performance.now();
        start.executedAt = new Date();
      }
      enter('running');
      if (start.attempt > 1) p.closeEarlierAttempts(job, start);
      const cancelled = p.cancels?.reasonFor(String(job.id));
      if (cancelled !== undefined) {
        // Cancelled while it waited for a worker, or while its worker died: never run it again.
        await finish({ status: 'cancelled', errorMessage: `cancelled: ${cancelled}` });
        p.cancels!.honoured(String(job.id));
        log.info({ reason: cancelled }, 'job cancelled before it started');
        throw new UnrecoverableError(`cancelled: ${cancelled}`);
      }

      let payload: unknown;
      try {
        if (!def) throw new UnknownJobError(agent.queue, job.name);
        payload = validatePayload(agent.queue, job.name, job.data, start.payloadBytes).payload;
      } catch (error) {
        if (!(error instanceof PayloadValidationError || error instanceof UnknownJobError)) throw error;
        log.warn({ problems: (error as PayloadValidationError).problems }, 'job rejected: invalid payload');
        await finish({ status: 'failed', errorMessage: error.message });
        throw new UnrecoverableError(error.message);
      }

      auditWriter.running(start);
      log.debug('job started');
      const abort = signal ?? new AbortController().signal;
      const ctx: HandlerContext<unknown> = {
        job,
        db: p.db,
        log,
        signal: abort,
        attempt: start.attempt,
        deps: p.deps,
        registerSecret: secrets.register,
        progress: (value) => job.updateProgress(value).catch((e: Error) => log.debug({ err: e }, 'progress not saved')),
      };

      let result: HandlerResult;
      try {
        const handler = agent.handlers[job.name as keyof typeof agent.handlers] as (
          payload: unknown,
          ctx: HandlerContext<unknown>,
        ) => Promise<HandlerResult>;
        result =
          (await withSpan(`handler ${job.name}`, { attributes: attributes ?? undefined }, () =>
            handler(payload, ctx),
          )) ?? {};
      } catch (error) {
        return await handleFailure(error, abort);
      }

      const status = result.status ?? 'completed';
      // The scrubbed copy is both the audit row's output and BullMQ's returnvalue.
      const output = scrub((result.output ?? {}) as JsonObject);
      await finish({
        status,
        outputData: output,
        costUsd: result.costUsd,
        errorMessage: result.error ?? null,
      });
      log.info({ status, costUsd: result.costUsd ?? 0, ms: Math.round(performance.now() - started) }, 'job finished');
      if (status === 'failed') throw new UnrecoverableError(scrub(result.error ?? 'handler reported failure'));
      return output;
    } catch (error) {
      if (!(error instanceof AuditWriteError)) throw error;
      // The database is unreachable: the attempt cannot be recorded, so it must not count. Try
      // again a little later without spending one of the job's attempts; the next attempt records
      // this one (closeEarlierAttempts), so no row is lost.
      const delay = Math.min(30_000, AUDIT_RETRY_MS * 2 ** Math.min(job.attemptsStarted - 1, 4));
      log.warn({ delayMs: delay }, 'audit database unreachable; job deferred');
      await job.moveToDelayed(Date.now() + delay, token);
      throw new DelayedError();
    } finally {
      release?.();
      secrets.release();
      if (state) metrics.held.dec({ queue: agent.queue, state });
    }

    /** The job was aborted before it got a slot: its handler never ran, but the attempt counts. */
    async function abandonWait(reason: unknown): Promise<never> {
      if (reason !== SHUTDOWN_REASON) {
        const why = typeof reason === 'string' ? reason : 'cancelled by an operator';
        await finish({ status: 'cancelled', errorMessage: `cancelled: ${why}` });
        p.cancels?.honoured(String(job.id));
        log.info({ reason: why }, 'job cancelled while it waited for a handler slot');
        throw new UnrecoverableError(`cancelled: ${why}`);
      }
      // The worker stops before it ran: back to the front of the wait list, without spending one
      // of the job's failures. BullMQ counted the start, so the attempt gets its row.
      await finish({ status: 'failed', errorMessage: 'deferred: the worker shut down before the attempt started' });
      log.info('job handed back: the worker shut down before it started');
      await job.moveToWait(token);
      throw new WaitingError();
    }

    async function handleFailure(error: unknown, abort: AbortSignal): Promise<never> {
      const message = scrub(errorText(error));
      // Work paid for before the failure (tokens, minutes) is still recorded.
      const spent = (error as { costUsd?: unknown } | null)?.costUsd;
      const costUsd = typeof spent === 'number' && Number.isFinite(spent) && spent >= 0 ? spent : undefined;
      if (abort.aborted && abort.reason !== SHUTDOWN_REASON) {
        const reason = typeof abort.reason === 'string' ? abort.reason : 'cancelled by an operator';
        await finish({ status: 'cancelled', errorMessage: `cancelled: ${reason}`, costUsd });
        p.cancels?.honoured(String(job.id));
        log.info({ reason }, 'job cancelled');
        throw new UnrecoverableError(`cancelled: ${reason}`);
      }
      if (error instanceof RetryLaterError) {
        const delay = Math.max(1_000, error.delayMs);
        await finish({ status: 'failed', errorMessage: `deferred ${Math.round(delay / 1000)}s: ${message}`, costUsd });
        log.warn({ delayMs: delay }, 'job deferred without spending an attempt');
        await job.moveToDelayed(Date.now() + delay, token);
        throw new DelayedError();
      }
      const permanent = error instanceof PermanentError || error instanceof UnrecoverableError;
      const maxAttempts = job.opts.attempts ?? 1;
      // attemptsMade counts failures only (not stalls or deferrals): it is what BullMQ retries on.
      const failures = job.attemptsMade + 1;
      const willRetry = !permanent && failures < maxAttempts;
      await finish({
        status: 'failed',
        costUsd,
        errorMessage: willRetry ? `${message} (failure ${failures} of ${maxAttempts} allowed; will retry)` : message,
      });
      // An expected failure (bad input, a missing record) is news, not a bug: no stack trace.
      if (permanent) log.warn({ error: message }, 'job failed permanently');
      else
        log[willRetry ? 'warn' : 'error']({ err: error }, willRetry ? 'job attempt failed; will retry' : 'job failed');
      if (permanent) throw new UnrecoverableError(message);
      // BullMQ stores the message as failedReason and the stack as stacktrace: scrubbed copies.
      throw error instanceof Error ? scrub(error) : new Error(message);
    }
  }
}

/** BullMQ control flow thrown by an attempt that is not a failure of it (deferred, handed back). */
function isControlFlow(error: unknown): boolean {
  return error instanceof DelayedError || error instanceof WaitingError;
}

/** The span attributes of an attempt: its audit identity and the row it writes. */
function attemptAttributes(start: TaskStart, job: Job): Attributes {
  return {
    [FleetAttributes.Queue]: start.queueName,
    [FleetAttributes.JobName]: job.name,
    [FleetAttributes.JobId]: String(job.id),
    [FleetAttributes.Attempt]: start.attempt,
    [FleetAttributes.TaskId]: taskRowId(start),
    ...(start.workspaceId ? { [FleetAttributes.WorkspaceId]: start.workspaceId } : {}),
    ...(start.agentName ? { [FleetAttributes.Agent]: start.agentName } : {}),
  };
}
