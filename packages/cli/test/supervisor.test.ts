/** Process mode's building blocks: restarts with backoff, giving up, graceful stop, selection. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@fleet/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { PERMANENT_EXIT_CODES, restartDelay } from '../src/fleet/backoff.ts';
import { ManagedProcess } from '../src/fleet/managed-process.ts';
import { freePort } from '../src/fleet/ports.ts';
import { CONTROL_PLANE, fleetRegistry } from '../src/fleet/registry.ts';
import { selectComponents } from '../src/fleet/selection.ts';
import { formatTable } from '../src/output/table.ts';
import { formatDuration, formatUsd, parseDuration } from '../src/output/values.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/flaky-process.mjs', import.meta.url));
const running: ManagedProcess[] = [];

function managed(mode: string, extra: { port?: number } = {}) {
  const lines: string[] = [];
  const notices: string[] = [];
  let healthy = 0;
  const p = new ManagedProcess({
    label: mode,
    command: process.execPath,
    args: [FIXTURE],
    cwd: process.cwd(),
    env: { ...process.env, MODE: mode, PORT: String(extra.port ?? 0) },
    ...(extra.port ? { healthPort: extra.port } : {}),
    prefix: `${mode} |`,
    stdout: (text) => lines.push(text),
    stderr: (text) => lines.push(text),
    notice: (text) => notices.push(text),
    onHealthy: () => {
      healthy++;
    },
    restartBaseMs: 20,
  });
  running.push(p);
  return { p, lines, notices, healthy: () => healthy };
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop(2_000)));
});

describe('ManagedProcess', () => {
  it('restarts a crashing process with growing delays, prefixing its output', async () => {
    const { p, lines, notices } = managed('crash');
    p.start();
    await waitFor(() => p.restarts >= 3, { what: 'three restarts', timeoutMs: 10_000 });
    expect(lines).toContain('crash | started crash\n');
    const delays = notices.map((n) => Number(/restarting in (\d+) ms/.exec(n)?.[1])).filter(Boolean);
    expect(delays.slice(0, 3)).toEqual([20, 40, 80]);
  });

  it('does not restart a process that exits with a configuration error', async () => {
    const { p, lines, notices } = managed('config');
    p.start();
    await waitFor(() => p.state === 'gave-up', { what: 'gave-up' });
    expect(p.restarts).toBe(0);
    expect(p.lastExitCode).toBe(78);
    expect(lines.join('')).toContain('config | invalid configuration: SOME_VAR');
    expect(notices.at(-1)).toContain('not restarting');
  });

  it('reports healthy via /healthz and stops gracefully with SIGTERM', async () => {
    const port = await freePort();
    const { p, lines, healthy } = managed('serve', { port });
    p.start();
    await waitFor(() => p.state === 'healthy', { what: 'healthy', timeoutMs: 10_000 });
    expect(healthy()).toBe(1);
    await p.stop(5_000);
    expect(p.state).toBe('stopped');
    expect(p.lastExitCode).toBe(0);
    expect(lines).toContain('serve | draining\n');
    expect(p.restarts).toBe(0);
  });
});

describe('backoff', () => {
  it('doubles from the base up to 30 s and treats 2 and 78 as permanent', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => restartDelay(n))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(PERMANENT_EXIT_CODES.has(78)).toBe(true);
    expect(PERMANENT_EXIT_CODES.has(1)).toBe(false);
  });
});

describe('selectComponents', () => {
  const registry = fleetRegistry();
  const root = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', 'no-such-checkout');

  it('derives the registry from the catalog plus the control plane', () => {
    expect(registry.at(-1)).toEqual(CONTROL_PLANE);
    expect(registry.map((c) => c.name)).toEqual(expect.arrayContaining(['scheduler', 'analytics', 'control-plane']));
    expect(new Set(registry.map((c) => c.name)).size).toBe(registry.length);
  });

  it('skips components whose folder does not exist when none is named', () => {
    const { selected, missing } = selectComponents([], registry, root);
    expect(selected).toEqual([]);
    expect(missing.map((c) => c.name)).toEqual(registry.map((c) => c.name));
  });

  it('takes NAME=REPLICAS, and rejects unknown names, bad counts and absent folders', () => {
    const { selected } = selectComponents(['scheduler', 'analytics=3'], registry);
    expect(selected.map((s) => [s.component.name, s.replicas])).toEqual([
      ['scheduler', 1],
      ['analytics', 3],
    ]);
    expect(() => selectComponents(['nope'], registry)).toThrow(/unknown component "nope"/);
    expect(() => selectComponents(['analytics=0'], registry)).toThrow(/replicas must be 1 to 32/);
    expect(() => selectComponents(['analytics'], registry, root)).toThrow(/not in this checkout/);
  });
});

describe('output formatting', () => {
  it('formats durations, money and tables', () => {
    expect([950, 1500, 61_000, 3_661_000, 90_061_000].map(formatDuration)).toEqual([
      '950ms',
      '1.5s',
      '1m 1s',
      '1h 1m',
      '1d 1h',
    ]);
    expect(formatUsd('0.002500')).toBe('$0.0025');
    expect(formatUsd('12')).toBe('$12.00');
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('soon')).toBeUndefined();
    const table = formatTable(
      [
        { a: 'x', n: 5 },
        { a: 'longer', n: 123 },
      ],
      [
        { header: 'NAME', value: (r) => r.a },
        { header: 'N', value: (r) => r.n, align: 'right' },
      ],
    );
    expect(table).toBe('NAME      N\nx         5\nlonger  123');
  });
});
