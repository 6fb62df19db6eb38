export { type CreateDbOptions, createDb, createPool } from './create-db.ts';
export {
  appliedMigrations,
  DEFAULT_MIGRATIONS_DIR,
  type MigrateOptions,
  type MigrateOutcome,
  MigrationError,
  migrateToLatest,
} from './migrate.ts';
export * from './types.ts';
export { isUuid } from './uuid.ts';
