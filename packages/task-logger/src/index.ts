export { AuditWriteError, isRowError, sqlState } from './errors.ts';
export { taskRowId } from './row-id.ts';
export {
  InvalidTaskRowError,
  type RowState,
  STATUS_RANK,
  statusRank,
  statusRankSql,
  type TaskEnd,
  type TaskKey,
  type TaskStart,
} from './rows.ts';
export {
  createTaskLogger,
  type TaskLogger,
  type TaskLoggerOptions,
  type TaskLoggerStats,
  type WriterLog,
} from './task-logger.ts';
export { UPSERT_SQL, UPSERT_STATEMENT, upsertParams, upsertRows } from './upsert.ts';
