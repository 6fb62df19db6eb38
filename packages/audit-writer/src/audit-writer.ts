import type { Database } from '@fleet/db';
import { FleetAttributes, SpanKind, withSpan } from '@fleet/tracing';
import type { Kysely } from 'kysely';
import { AuditWriteError, isRowError, sqlState } from './errors.ts';
import { taskRowId } from './row-id.ts';
import {
  endRow,
  InvalidTaskRowError,
  keyString,
  mergeRows,
  type RowState,
  startRow,
  type TaskEnd,
  type TaskStart,
} from './rows.ts';
import { upsertRows } from './upsert.ts';

/** The subset of a pino logger the writer uses. */
export interface WriterLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface AuditWriterOptions {
  db: Kysely<Database>;
  log?: WriterLog;
  /**
   * A `running` row is written only when its attempt is still open this long after it started.
   * Attempts that end sooner get a single row write (their terminal row). The reconciler closes
   * the rows of attempts whose worker died inside this window.
   */
  runningDelayMs?: number;
  /** Most rows per statement; a larger backlog is written in several statements. */
  maxBatchRows?: number;
  /**
   * Statements in flight at once. With one, a write queued just after a statement left waits
   * for it to return before its own can go (two round trips); with two, it goes at once while
   * batches still grow under load. Each needs its own connection.
   */
  maxConcurrentWrites?: number;
}

export interface AuditWriterStats {
  /** SQL statements sent (each one round trip). */
  statements: number;
  /** Row writes sent (after merging). */
  rows: number;
  largestBatch: number;
  /** Writes merged into another write of the same attempt before being sent. */
  merged: number;
  /** `running` writes lost to a database error; the reconciler closes those attempts. */
  droppedRunning: number;
}

export interface AuditWriter {
  /** Records a queued attempt; resolves once durable. */
  pending(start: TaskStart): Promise<void>;
  /** Records a started attempt, written behind: never awaited by the job, never throws. */
  running(start: TaskStart): void;
  /** Records how an attempt ended; resolves once durable, rejects with AuditWriteError if it is not. */
  finish(start: TaskStart, end: TaskEnd): Promise<void>;
  /** Sends everything queued, including `running` rows not yet due. */
  flush(): Promise<void>;
  /** Flushes and stops; later calls reject. */
  close(): Promise<void>;
  readonly stats: Readonly<AuditWriterStats>;
}

interface Waiter {
  /** `rows`: how many rows the statement that made this one durable carried. */
  resolve(rows: number): void;
  reject(error: Error): void;
}

interface Entry {
  row: RowState;
  waiters: Waiter[];
  /** When a write with no waiter becomes due; urgent entries (with waiters) are due at once. */
  dueAt: number;
}

const noopLog: WriterLog = { warn() {}, error() {} };

/**
 * Creates the audit writer. Writes are held per attempt, merged while held, and sent as one
 * multi-row upsert per round trip (group commit): while a statement is in flight, new writes
 * accumulate and go out together in the next one, so batches grow exactly when the database is
 * busy. Callers of pending()/finish() still await the durability of their own row.
 */
export function createAuditWriter(options: AuditWriterOptions): AuditWriter {
  const { db } = options;
  const log = options.log ?? noopLog;
  const runningDelayMs = options.runningDelayMs ?? 250;
  const maxBatchRows = options.maxBatchRows ?? 1_000;
  const maxConcurrent = Math.max(1, options.maxConcurrentWrites ?? 2);

  // Rows not yet sent, one entry per attempt (later writes of an attempt merge into it).
  const unsent = new Map<string, Entry>();
  let urgent = 0;
  const inFlight = new Set<Promise<void>>();
  let immediate: NodeJS.Immediate | null = null;
  let timer: NodeJS.Timeout | null = null;
  let timerAt = 0;
  let closed = false;
  const stats: AuditWriterStats = { statements: 0, rows: 0, largestBatch: 0, merged: 0, droppedRunning: 0 };

  function hold(row: RowState, waiter: Waiter | null, dueAt: number): void {
    const key = keyString(row.key);
    const existing = unsent.get(key);
    if (existing) {
      stats.merged++;
      existing.row = mergeRows(existing.row, row);
      existing.dueAt = Math.min(existing.dueAt, dueAt);
      if (waiter) {
        if (existing.waiters.length === 0) urgent++;
        existing.waiters.push(waiter);
      }
    } else {
      unsent.set(key, { row, waiters: waiter ? [waiter] : [], dueAt });
      if (waiter) urgent++;
    }
    schedule();
  }

  /** Arranges the next flush: at once when someone waits, at the next due time otherwise. */
  function schedule(): void {
    if (inFlight.size >= maxConcurrent || unsent.size === 0) return;
    if (urgent > 0) {
      // setImmediate lets every write issued in the current tick join the same statement.
      immediate ??= setImmediate(() => {
        immediate = null;
        void run();
      });
      return;
    }
    let earliest = Number.POSITIVE_INFINITY;
    for (const entry of unsent.values()) {
      earliest = Math.min(earliest, entry.dueAt);
      break; // insertion order is due order: every running write gets the same delay
    }
    if (timer && timerAt <= earliest) return;
    if (timer) clearTimeout(timer);
    timerAt = earliest;
    timer = setTimeout(
      () => {
        timer = null;
        void run();
      },
      Math.max(0, earliest - Date.now()),
    );
    timer.unref();
  }

  function takeBatch(all: boolean): Entry[] {
    const now = Date.now();
    const batch: Entry[] = [];
    for (const [key, entry] of unsent) {
      if (batch.length >= maxBatchRows) break;
      if (all || entry.waiters.length > 0 || entry.dueAt <= now) {
        batch.push(entry);
        unsent.delete(key);
        if (entry.waiters.length > 0) urgent--;
      }
    }
    return batch;
  }

  async function run(all = false): Promise<void> {
    if (inFlight.size >= maxConcurrent) return Promise.race(inFlight);
    const batch = takeBatch(all);
    if (batch.length === 0) {
      schedule();
      return;
    }
    // Several statements may touch the same attempt at once; the upsert's rank rule makes their
    // order irrelevant (a lower status never overwrites a higher one).
    const p: Promise<void> = write(batch).finally(() => {
      inFlight.delete(p);
      schedule();
    });
    inFlight.add(p);
    return p;
  }

  async function write(batch: Entry[]): Promise<void> {
    stats.statements++;
    stats.rows += batch.length;
    stats.largestBatch = Math.max(stats.largestBatch, batch.length);
    try {
      await upsertRows(
        db,
        batch.map((e) => e.row),
      );
      for (const entry of batch) settle(entry, batch.length);
    } catch (error) {
      if (isRowError(error) && batch.length > 1) {
        // One bad row must not fail everyone else's write: isolate it.
        for (const entry of batch) await writeOne(entry);
      } else if (isRowError(error)) {
        await writeOne(entry0(batch), error);
      } else {
        fail(batch, error);
      }
    }
  }

  function entry0(batch: Entry[]): Entry {
    return batch[0]!;
  }

  /** Writes one row on its own; a row the database refuses is rejected for its own callers only. */
  async function writeOne(entry: Entry, knownError?: unknown): Promise<void> {
    let error = knownError;
    if (error === undefined) {
      stats.statements++;
      try {
        await upsertRows(db, [entry.row]);
        settle(entry, 1);
        return;
      } catch (e) {
        error = e;
      }
    }
    if (!isRowError(error)) return fail([entry], error);
    if (sqlState(error) === '23503' && entry.row.workspaceId !== null) {
      // The workspace does not exist (or was deleted): keep the audit row, without the reference.
      const note = `workspace ${entry.row.workspaceId} does not exist`;
      const row: RowState = {
        ...entry.row,
        workspaceId: null,
        errorMessage: entry.row.errorMessage
          ? `${note}; ${entry.row.errorMessage}`
          : entry.row.status === 'running'
            ? null
            : note,
      };
      stats.statements++;
      try {
        await upsertRows(db, [row]);
        return settle(entry, 1);
      } catch (e) {
        error = e;
      }
    }
    const refused = new InvalidTaskRowError(
      `autonomous_tasks refused the row of ${entry.row.key.queueName}/${entry.row.key.jobId} attempt ${entry.row.key.attempt}: ${(error as Error).message}`,
      { cause: error },
    );
    log.error({ err: refused }, 'audit row refused by the database');
    for (const w of entry.waiters) w.reject(refused);
  }

  function settle(entry: Entry, rows: number): void {
    for (const w of entry.waiters) w.resolve(rows);
  }

  function fail(entries: Entry[], error: unknown): void {
    const wrapped = new AuditWriteError(`audit write failed: ${(error as Error)?.message ?? String(error)}`, {
      cause: error,
    });
    for (const entry of entries) {
      if (entry.waiters.length === 0) stats.droppedRunning++;
      for (const w of entry.waiters) w.reject(wrapped);
    }
    log.warn({ err: wrapped, rows: entries.length }, 'audit write failed; callers will retry');
  }

  /**
   * Queues a write its caller awaits, in a span of the caller's trace (`audit <status>`) that
   * ends when the row is durable: the statement is shared with other attempts' rows.
   */
  function awaited(row: () => RowState): Promise<void> {
    if (closed) return Promise.reject(new AuditWriteError('audit writer is closed'));
    let built: RowState;
    try {
      built = row();
    } catch (error) {
      return Promise.reject(error);
    }
    return withSpan(`audit ${built.status}`, { kind: SpanKind.CLIENT }, (span) => {
      if (span.isRecording()) {
        span.setAttributes({
          'db.system.name': 'postgresql',
          'db.collection.name': 'autonomous_tasks',
          'db.operation.name': 'upsert',
          [FleetAttributes.TaskId]: taskRowId(built.key),
          [FleetAttributes.Queue]: built.key.queueName,
          [FleetAttributes.JobId]: built.key.jobId,
          [FleetAttributes.Attempt]: built.key.attempt,
          [FleetAttributes.AuditStatus]: built.status,
          ...(built.workspaceId ? { [FleetAttributes.WorkspaceId]: built.workspaceId } : {}),
        });
      }
      return new Promise<void>((resolve, reject) => {
        hold(
          built,
          {
            resolve(rows) {
              span.setAttribute(FleetAttributes.AuditBatchRows, rows);
              resolve();
            },
            reject,
          },
          0,
        );
      });
    });
  }

  return {
    pending: (start) => awaited(() => startRow(start, 'pending')),
    finish: (start, end) => awaited(() => endRow(start, end)),
    running(start) {
      if (closed) return;
      let row: RowState;
      try {
        row = startRow(start, 'running');
      } catch (error) {
        log.warn({ err: error }, 'running row not recorded');
        return;
      }
      hold(row, null, Date.now() + runningDelayMs);
    },
    async flush() {
      if (immediate) {
        clearImmediate(immediate);
        immediate = null;
      }
      while (unsent.size > 0 || inFlight.size > 0) {
        if (unsent.size > 0 && inFlight.size < maxConcurrent) await run(true);
        else await Promise.race(inFlight).catch(() => {});
      }
    },
    async close() {
      await this.flush();
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
    get stats() {
      return stats;
    },
  };
}
