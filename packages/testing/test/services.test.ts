/** How the test harness finds Postgres and Redis when TEST_DATABASE_URL / TEST_REDIS_URL are unset. */
import { describe, expect, inject, it } from 'vitest';
import { defaultProbes, startTestServices, TestServicesUnavailable } from '../src/services.ts';

const CLOSED = { databaseUrl: 'postgres://postgres@127.0.0.1:1/postgres', redisUrl: 'redis://127.0.0.1:1' };
const noEngine = { ...defaultProbes, containerEngine: async () => 'no container engine in this test' };

describe('startTestServices', () => {
  it('uses local services that answer on their default ports', async () => {
    // The services this run uses stand in for "the local ones".
    const local = { databaseUrl: inject('adminDatabaseUrl'), redisUrl: inject('redisUrl') };
    const services = await startTestServices({}, noEngine, local);
    expect(services).toMatchObject(local);
  });

  it('stops with one line naming what to start or set when nothing answers', async () => {
    const error = await startTestServices({}, noEngine, CLOSED).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TestServicesUnavailable);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toBe(
      'The tests need Postgres 15+ (127.0.0.1:1: ECONNREFUSED) and Redis 7 (127.0.0.1:1: ECONNREFUSED), and no ' +
        'container engine answers for testcontainers (no container engine in this test): start them on their ' +
        'default ports (Postgres user postgres, no password), set TEST_DATABASE_URL and TEST_REDIS_URL, or start ' +
        'Docker or Podman.',
    );
  });

  it('needs only what is missing: a set TEST_REDIS_URL and a closed local Postgres name Postgres alone', async () => {
    const error = await startTestServices({ TEST_REDIS_URL: inject('redisUrl') }, noEngine, CLOSED).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(/^The tests need Postgres 15\+ \(127\.0\.0\.1:1: ECONNREFUSED\), and no/);
  });
});
