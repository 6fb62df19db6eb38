/**
 * Every process of the fleet exits 78 for every configuration problem, with a message that says
 * what is wrong — so the process-mode supervisor and an operator reading container logs both know
 * a restart will not help.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@fleet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetRegistry, REPO_ROOT } from '../src/fleet/registry.ts';
import { ENTRYPOINT } from '../src/fleet/run-fleet.ts';

let t: TestDatabase;
let r: TestRedis;

beforeAll(async () => {
  t = await createTestDatabase('config_errors');
  r = createTestRedis('config-errors');
});

afterAll(async () => {
  await r.cleanup();
  await t.drop();
});

/** Runs one component through the image's entry point; resolves to its exit code and stderr. */
function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', [join(REPO_ROOT, ENTRYPOINT), ...args], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH,
        NODE: process.execPath,
        DATABASE_URL: t.url,
        REDIS_URL: r.url,
        QUEUE_PREFIX: r.prefix,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: '0',
        CONTROL_PLANE_HOST: '127.0.0.1',
        CONTROL_PLANE_PORT: '0',
        ADMIN_API_KEY: 'config-test-admin-key-0123456789',
        GOOGLE_CLIENT_ID: 'x',
        GOOGLE_CLIENT_SECRET: 'y',
        MAIL_TOKEN_ENCRYPTION_KEY: 'ab'.repeat(32),
        LOG_LEVEL: 'warn',
        LOG_PRETTY: 'false',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (chunk) => {
      err += chunk;
    });
    child.once('exit', (code) => resolve({ code, err }));
  });
}

const argsOf = (c: ReturnType<typeof fleetRegistry>[number]) =>
  c.kind === 'control-plane' ? ['control-plane'] : ['agent', c.name];

describe('configuration errors', () => {
  it('exit 78 in every component, saying what a set variable got', { timeout: 90_000 }, async () => {
    const results = await Promise.all(
      fleetRegistry().map(async (c) => ({ c, ...(await run(argsOf(c), { LOG_LEVEL: 'loud', DB_POOL_MAX: 'abc' })) })),
    );
    for (const { c, code, err } of results) {
      expect(code, `${c.name}: ${err}`).toBe(78);
      expect(err).toContain(`${c.name}: invalid configuration`);
      expect(err).toContain("LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got 'loud'");
      expect(err).toContain("DB_POOL_MAX: must be a number, got 'abc'");
      expect(err).not.toMatch(/\n\s+at /);
    }
  });

  it('exit 78 for rules between variables and for a taken port', { timeout: 90_000 }, async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = String((taken.address() as { port: number }).port);
    try {
      const [enrichment, budget, anthropic, probe, controlPlane] = await Promise.all([
        run(['agent', 'contact-intelligence'], { ENRICHMENT_PROVIDER: 'http' }),
        run(['agent', 'continuous-intelligence'], { INTELLIGENCE_MONTHLY_BUDGET_USD: 'abc' }),
        run(['agent', 'continuous-intelligence'], { INTELLIGENCE_PROVIDER: 'anthropic' }),
        run(['agent', 'analytics'], { HTTP_PORT: port }),
        run(['control-plane'], { CONTROL_PLANE_PORT: port }),
      ]);
      expect(enrichment.code).toBe(78);
      expect(enrichment.err).toContain(
        'ENRICHMENT_BASE_URL: is not set: ENRICHMENT_PROVIDER=http needs ENRICHMENT_BASE_URL and ENRICHMENT_API_KEY',
      );
      expect(enrichment.err).toContain('ENRICHMENT_API_KEY: is not set');
      expect(budget.code).toBe(78);
      expect(budget.err).toContain("INTELLIGENCE_MONTHLY_BUDGET_USD: must be a number, got 'abc'");
      expect(anthropic.code).toBe(78);
      expect(anthropic.err).toContain(
        'ANTHROPIC_API_KEY: is not set: INTELLIGENCE_PROVIDER=anthropic needs ANTHROPIC_API_KEY',
      );
      expect(probe.code).toBe(78);
      expect(probe.err).toContain(
        `HTTP_PORT: port ${port} on 127.0.0.1 is already in use by another process (EADDRINUSE)`,
      );
      expect(controlPlane.code).toBe(78);
      expect(controlPlane.err).toContain(`CONTROL_PLANE_PORT: port ${port} on 127.0.0.1 is already in use`);
    } finally {
      taken.close();
    }
  });
});
