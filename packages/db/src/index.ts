export { type CreateDbOptions, createDb, createPool, poolOf } from './create-db.ts';
export { ensureLoginRole, type LoginRole, LoginRoleError, scramSha256Verifier } from './login-roles.ts';
export {
  appliedMigrations,
  DEFAULT_MIGRATIONS_DIR,
  type MigrateOptions,
  type MigrateOutcome,
  MigrationError,
  migrateToLatest,
} from './migrate.ts';
export { createAheadPartitions, PARTITIONING_MIGRATION, preparePartitioning } from './partitioning.ts';
export * from './types.ts';
export { isUuid } from './uuid.ts';
