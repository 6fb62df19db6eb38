/**
 * Process mode's ports: every agent's probe port is fixed (its offset from --base-port, whatever
 * else runs), and a port another process holds stops `fleet up` before anything starts, with exit
 * 78 naming the port and the flag that moves it.
 */
import { createServer, type Server } from 'node:net';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@fleet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.ts';
import { ExitCode } from '../src/exit-codes.ts';
import { freePort, portProblem } from '../src/fleet/ports.ts';
import { captureIO } from './helpers.ts';
import { startFleet } from './support/fleet-process.ts';

let t: TestDatabase;
let r: TestRedis;
let env: Record<string, string>;
const servers: Server[] = [];

beforeAll(async () => {
  t = await createTestDatabase('fleet_ports');
  r = createTestRedis('fleet-ports');
  env = { DATABASE_URL: t.url, REDIS_URL: r.url, QUEUE_PREFIX: r.prefix, LOG_LEVEL: 'warn' };
});

afterAll(async () => {
  for (const s of servers) s.close();
  await r.cleanup();
  await t.drop();
});

/** Another process's listener on a port (here: this test's). */
async function occupy(): Promise<number> {
  const port = await freePort();
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return port;
}

/** A --base-port whose ports at `offsets` are free now. */
async function freeBase(offsets: number[]): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    const problems = await Promise.all(offsets.map((o) => portProblem(base + o, '127.0.0.1')));
    if (problems.every((p) => p === null)) return base;
  }
}

async function up(args: string[]) {
  const io = captureIO();
  const code = await runCli(['up', '--no-migrate', ...args], { io, env });
  return { code, err: io.err };
}

describe('fleet up ports', () => {
  it('refuses with exit 78 when a probe port is taken, naming the port and --base-port', async () => {
    const taken = await occupy();
    // analytics sits at offset 1: --base-port taken-1 puts its probe on the taken port.
    const { code, err } = await up(['analytics', '--base-port', String(taken - 1), '--control-plane-port', '0']);
    expect(code).toBe(ExitCode.config);
    expect(err).toContain(
      `port ${taken} on 127.0.0.1 (analytics's probe, set by --base-port): already in use by another process (EADDRINUSE)`,
    );
    expect(err).toContain(`--base-port (now ${taken - 1}`);
    expect(err).not.toContain('fleet ready');
  });

  it('refuses the control plane port the same way, naming --control-plane-port', async () => {
    const taken = await occupy();
    const { code, err } = await up(['control-plane', '--control-plane-port', String(taken)]);
    expect(code).toBe(ExitCode.config);
    expect(err).toContain(`port ${taken} on 127.0.0.1 (the control plane, set by --control-plane-port)`);
  });

  it('gives each agent the same probe port whatever else runs, answered with its own instance id', {
    timeout: 90_000,
  }, async () => {
    const base = await freeBase([1, 5]);
    const fleet = startFleet(['analytics', 'scheduler', '--no-migrate', '--base-port', String(base)], env);
    try {
      const ready = await fleet.waitForOutput(/fleet ready: (\d+) of 2 processes healthy \(([^)]*)\)/);
      expect(ready[1]).toBe('2');
      expect(ready[2]).toBe(`analytics=http://127.0.0.1:${base + 1} scheduler=http://127.0.0.1:${base + 5}`);
      const health = await (await fetch(`http://127.0.0.1:${base + 1}/healthz`)).json();
      expect(health).toEqual({ status: 'ok', instance: expect.stringMatching(/^analytics-[0-9a-f]{8}$/) });
    } finally {
      await fleet.stop();
    }
    expect(await fleet.exited).toBe(0);
  });
});
