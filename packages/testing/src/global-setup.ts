/**
 * vitest global setup: finds or starts Postgres and Redis, builds the migrated template database
 * once, and hands the URLs to every test file through `inject()`.
 */
import type { TestProject } from 'vitest/node';
import './provided.ts';
import { startTestServices } from './services.ts';
import { ensureTemplate } from './template.ts';

export default async function setup(project: TestProject) {
  const services = await startTestServices();
  const template = await ensureTemplate(services.databaseUrl);
  project.provide('adminDatabaseUrl', services.databaseUrl);
  project.provide('redisUrl', services.redisUrl);
  project.provide('templateDatabase', template);
  return async () => {
    await services.stop();
  };
}
