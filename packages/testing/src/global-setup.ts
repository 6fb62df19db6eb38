/**
 * vitest global setup: finds or starts Postgres and Redis, builds the migrated template database
 * once, and hands the URLs to every test file through `inject()`.
 */
import type { TestProject } from 'vitest/node';
import './provided.ts';
import { startTestServices, TestServicesUnavailable } from './services.ts';
import { ensureTemplate } from './template.ts';

export default async function setup(project: TestProject) {
  let services: Awaited<ReturnType<typeof startTestServices>>;
  try {
    services = await startTestServices();
  } catch (error) {
    if (!(error instanceof TestServicesUnavailable)) throw error;
    // One line, and nothing else: thrown, vitest would first report "No test files found".
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  const template = await ensureTemplate(services.databaseUrl);
  project.provide('adminDatabaseUrl', services.databaseUrl);
  project.provide('redisUrl', services.redisUrl);
  project.provide('templateDatabase', template);
  return async () => {
    await services.stop();
  };
}
