import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'agents/*/test/**/*.test.ts', 'test/cluster/**/*.test.ts'],
    globalSetup: ['packages/testing/src/global-setup.ts'],
    // Every file gets its own database and Redis prefix, so files run in parallel; two workers
    // match the two cores the fleet's Node, Redis and Postgres share on CI.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    // A test that passes only on retry is a bug; never mask it.
    retry: 0,
  },
});
