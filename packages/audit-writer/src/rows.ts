import { isUuid, type JsonObject, TASK_TYPES, type TaskStatus, type TaskType, type TerminalStatus } from '@fleet/db';

/** Identity of one execution attempt: unique in autonomous_tasks. */
export interface TaskKey {
  queueName: string;
  jobId: string;
  /** BullMQ's job.attemptsStarted for this attempt (1 for the first). */
  attempt: number;
}

/** What is known when an attempt is queued or starts. */
export interface TaskStart extends TaskKey {
  workspaceId: string | null;
  taskType: TaskType;
  agentName: string | null;
  /** cron, api, system, manual, retry */
  triggeredBy: string;
  inputData: JsonObject;
  /** inputData already serialised (saves a JSON.stringify per write when the caller has it). */
  inputJson?: string;
  /** When the attempt started (for a pending row: when it was queued). */
  executedAt: Date;
  /**
   * When the job was created (BullMQ's job.timestamp): autonomous_tasks.created_at, the table's
   * partition key. The same for every write of every attempt of the job, so all writes of one
   * attempt reach the same partition and its ON CONFLICT finds the row (migration 140).
   */
  jobCreatedAt: Date;
}

/** How an attempt ended. */
export interface TaskEnd {
  status: TerminalStatus;
  outputData?: JsonObject;
  errorMessage?: string | null;
  /** USD; at most 6 decimals are kept. */
  costUsd?: number | string;
  completedAt?: Date;
}

/** One row as the writer sends it. */
export interface RowState {
  key: TaskKey;
  status: TaskStatus;
  workspaceId: string | null;
  taskType: TaskType;
  agentName: string | null;
  triggeredBy: string;
  inputData: string;
  outputData: string;
  errorMessage: string | null;
  executedAt: Date;
  completedAt: Date | null;
  costUsd: string;
  createdAt: Date;
}

/** A row the writer will not send: its own fields are wrong. Never retried. */
export class InvalidTaskRowError extends Error {
  override name = 'InvalidTaskRowError';
}

/**
 * The status order: pending < running < any terminal status. Writes only ever move a row up this
 * order, both when the writer merges two queued writes (mergeRows) and in the upsert's WHERE
 * (statusRankSql renders it from this table), so the two cannot disagree.
 */
export const STATUS_RANK: Readonly<Record<TaskStatus, number>> = {
  pending: 0,
  running: 1,
  completed: 2,
  failed: 2,
  partial_failure: 2,
  cancelled: 2,
};

export function statusRank(status: TaskStatus): number {
  return STATUS_RANK[status];
}

/**
 * STATUS_RANK as an SQL expression over `column` (a trusted identifier such as `t.status`, never
 * user input): `CASE column WHEN 'pending' THEN 0 ... ELSE <top rank> END`. The top rank is the
 * ELSE, so the text stays as short as a hand-written one and every status ranks as in TypeScript.
 */
export function statusRankSql(column: string): string {
  const top = Math.max(...Object.values(STATUS_RANK));
  const whens = Object.entries(STATUS_RANK)
    .filter(([, rank]) => rank < top)
    .sort(([, a], [, b]) => a - b)
    .map(([status, rank]) => `WHEN '${status}' THEN ${rank}`);
  return `CASE ${column} ${whens.join(' ')} ELSE ${top} END`;
}

export function keyString(key: TaskKey): string {
  return `${key.queueName}\u0000${key.jobId}\u0000${key.attempt}`;
}

const MAX_ERROR_LENGTH = 4_000;

function toJson(value: JsonObject | undefined, field: string): string {
  if (value === undefined) return '{}';
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new InvalidTaskRowError(`${field} is not JSON-serialisable: ${(error as Error).message}`);
  }
  if (text === undefined || !text.startsWith('{')) throw new InvalidTaskRowError(`${field} must be a JSON object`);
  // Postgres jsonb rejects the NUL character; replace rather than lose the row.
  return text.includes('\\u0000') ? text.replaceAll('\\u0000', '\\ufffd') : text;
}

function toCost(cost: number | string | undefined): string {
  if (cost === undefined) return '0';
  const n = typeof cost === 'number' ? cost : Number(cost);
  if (!Number.isFinite(n) || n < 0 || n >= 1_000_000) {
    throw new InvalidTaskRowError(`costUsd must be a finite number between 0 and 1,000,000 USD, got ${String(cost)}`);
  }
  return n.toFixed(6);
}

/** Checks and normalises a start record; throws InvalidTaskRowError naming the bad field. */
export function startRow(start: TaskStart, status: TaskStatus): RowState {
  const key = { queueName: start.queueName, jobId: start.jobId, attempt: start.attempt };
  if (!key.queueName) throw new InvalidTaskRowError('queueName is required');
  if (!key.jobId) throw new InvalidTaskRowError('jobId is required');
  if (!Number.isInteger(key.attempt) || key.attempt < 1) {
    throw new InvalidTaskRowError(`attempt must be a whole number >= 1, got ${key.attempt}`);
  }
  if (!(TASK_TYPES as readonly string[]).includes(start.taskType)) {
    throw new InvalidTaskRowError(`taskType "${start.taskType}" is not one of ${TASK_TYPES.join(', ')}`);
  }
  if (start.workspaceId !== null && !isUuid(start.workspaceId)) {
    throw new InvalidTaskRowError(
      `workspaceId must be a UUID or null, got "${String(start.workspaceId).slice(0, 64)}"`,
    );
  }
  if (!(start.executedAt instanceof Date) || Number.isNaN(start.executedAt.getTime())) {
    throw new InvalidTaskRowError('executedAt must be a valid Date');
  }
  if (!(start.jobCreatedAt instanceof Date) || Number.isNaN(start.jobCreatedAt.getTime())) {
    throw new InvalidTaskRowError('jobCreatedAt must be a valid Date');
  }
  return {
    key,
    status,
    workspaceId: start.workspaceId,
    taskType: start.taskType,
    agentName: start.agentName,
    triggeredBy: start.triggeredBy,
    inputData:
      start.inputJson && !start.inputJson.includes('\\u0000') ? start.inputJson : toJson(start.inputData, 'inputData'),
    outputData: '{}',
    errorMessage: null,
    executedAt: start.executedAt,
    completedAt: null,
    costUsd: '0',
    createdAt: start.jobCreatedAt,
  };
}

/** A start record closed by `end`. */
export function endRow(start: TaskStart, end: TaskEnd): RowState {
  const row = startRow(start, end.status);
  const completedAt = end.completedAt ?? new Date();
  const error = end.errorMessage ?? null;
  return {
    ...row,
    outputData: toJson(end.outputData, 'outputData'),
    errorMessage: error && error.length > MAX_ERROR_LENGTH ? `${error.slice(0, MAX_ERROR_LENGTH)}…` : error,
    completedAt,
    costUsd: toCost(end.costUsd),
  };
}

/**
 * Merges two writes of the same attempt queued before either was sent: the higher status wins,
 * a terminal status is never replaced by another, and the start time of a real start (running)
 * replaces the queue time of a pending row.
 */
export function mergeRows(current: RowState, next: RowState): RowState {
  const a = statusRank(current.status);
  const b = statusRank(next.status);
  if (b <= a) return current;
  return a === 1 ? { ...next, executedAt: current.executedAt } : next;
}

export type { TerminalStatus };
