export {
  type AuditWriter,
  type AuditWriterOptions,
  type AuditWriterStats,
  createAuditWriter,
  type WriterLog,
} from './audit-writer.ts';
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
export { UPSERT_SQL, UPSERT_STATEMENT, upsertParams, upsertRows } from './upsert.ts';
