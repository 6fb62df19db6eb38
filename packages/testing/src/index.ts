export { type SeedRow, seedRows, seedWorkspaces } from './audit-rows.ts';
export { type CanaryHit, canary, canaryEncodings, findCanaries } from './canaries.ts';
export { createWorkspace, DAY, daysBefore, insertContact, insertEmail, insertInsight } from './platform-rows.ts';
export { createTestRedis, type TestRedis } from './redis.ts';
export { dumpRedisKeys } from './redis-dump.ts';
export { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';
export { withDatabase } from './template.ts';
export { adminQuery, createEmptyDatabase, createTestDatabase, type TestDatabase } from './test-database.ts';
export { type WaitForOptions, waitFor } from './wait-for.ts';
