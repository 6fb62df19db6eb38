export { AuditWriteError, isRowError, sqlState } from './errors.ts';
export { taskRowId } from './row-id.ts';
export {
  InvalidTaskRowError,
  statusRank,
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
export { upsertRows } from './upsert.ts';
