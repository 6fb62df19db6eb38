/** Process mode's building blocks: restarts with backoff, giving up, graceful stop, selection. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@fleet/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type ExitedRun, ManagedProcess } from '../src/fleet/managed-process.ts';
import { freePort } from '../src/fleet/ports.ts';
import {
  CONTROL_PLANE,
  fleetRegistry,
  PROBE_PORT_OFFSETS,
  probePort,
  REPLICA_PORT_STRIDE,
} from '../src/fleet/registry.ts';
import { PERMANENT_EXIT_CODES, restartDelay } from '../src/fleet/restart-policy.ts';
import { selectComponents } from '../src/fleet/selection.ts';
import { createStopSignals, type StopSignals } from '../src/fleet/stop-signals.ts';
import { formatTable } from '../src/output/table.ts';
import { formatDuration, formatUsd, parseDuration } from '../src/output/values.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/flaky-process.mjs', import.meta.url));
const running: ManagedProcess[] = [];

function managed(mode: string, extra: { port?: number } = {}) {
  const lines: string[] = [];
  const notices: string[] = [];
  const exits: ExitedRun[] = [];
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
    onExit: (run) => {
      exits.push(run);
    },
    restartBaseMs: 20,
  });
  running.push(p);
  return { p, lines, notices, exits, healthy: () => healthy };
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop(2_000)));
});

describe('ManagedProcess', () => {
  it('restarts a crashing process with growing delays, prefixing its output', async () => {
    const { p, lines, notices } = managed('crash');
    p.start();
    await waitFor(() => p.restarts >= 3, { what: 'three restarts', timeoutMs: 10_000 });
    expect(lines[0]).toMatch(/^crash \| started crash as crash-/);
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

  it('counts as healthy only its own instance, not another process answering on its port', async () => {
    const port = await freePort();
    const { p, lines } = managed('impostor', { port });
    p.start();
    // It answers /healthz, with another instance id, several times over.
    await waitFor(() => lines.filter((l) => l.includes('probe answered')).length >= 3, { what: 'three probes' });
    expect(p.state).toBe('starting');
  });

  it('reports each run that ended, with the instance id it ran as', async () => {
    const { p, exits, lines } = managed('crash');
    p.start();
    await waitFor(() => exits.length >= 2, { what: 'two runs to end' });
    expect(exits[0]).toMatchObject({ code: 1, signal: null, how: 'exited with code 1' });
    expect(exits[0]!.instanceId).toMatch(/^crash-[0-9a-f]{8}$/);
    expect(exits[1]!.instanceId).not.toBe(exits[0]!.instanceId);
    expect(lines).toContain(`crash | started crash as ${exits[0]!.instanceId}\n`);
  });
});

describe('stop signals', () => {
  const SIGNAL = 'SIGUSR2';
  let clock = 0;
  let signals: StopSignals | undefined;
  afterEach(() => signals?.dispose());

  function watch() {
    const seen: string[] = [];
    signals = createStopSignals({
      stop: (why) => seen.push(`stop ${why}`),
      kill: (s) => seen.push(`kill ${s}`),
      repeated: (s, ms) => seen.push(`repeated ${s} +${ms}`),
      signals: [SIGNAL],
      now: () => clock,
    });
    return seen;
  }

  it('takes copies of one signal inside the pause as one stop, and a signal after it as kill', () => {
    const seen = watch();
    clock = 1_000;
    process.emit(SIGNAL, SIGNAL);
    clock = 1_003;
    process.emit(SIGNAL, SIGNAL);
    clock = 1_900;
    process.emit(SIGNAL, SIGNAL);
    expect(signals!.stopping).toBe(true);
    clock = 2_000;
    process.emit(SIGNAL, SIGNAL);
    expect(seen).toEqual([`stop ${SIGNAL}`, `repeated ${SIGNAL} +3`, `repeated ${SIGNAL} +900`, `kill ${SIGNAL}`]);
  });

  it('treats a signal after a requested stop as the second one', () => {
    const seen = watch();
    clock = 5_000;
    signals!.request('every process gave up');
    clock = 6_500;
    process.emit(SIGNAL, SIGNAL);
    expect(seen).toEqual(['stop every process gave up', `kill ${SIGNAL}`]);
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

  it('gives every agent its own fixed probe port, replicas on their own row', () => {
    const agents = registry.filter((c) => c.kind === 'agent');
    const ports = agents.flatMap((c) => [1, 2, 32].map((n) => probePort(9464, c, n)));
    expect(new Set(ports).size).toBe(ports.length);
    expect(Object.fromEntries(agents.map((c) => [c.name, probePort(9464, c, 1)]))).toEqual({
      'contact-intelligence': 9464,
      analytics: 9465,
      'email-integration': 9466,
      'continuous-intelligence': 9467,
      'media-transcription': 9468,
      scheduler: 9469,
      'content-calendar': 9470,
      'social-publisher': 9471,
    });
    expect(probePort(9464, agents.find((c) => c.name === 'analytics')!, 2)).toBe(9464 + 1 + REPLICA_PORT_STRIDE);
    for (const offset of Object.values(PROBE_PORT_OFFSETS)) expect(offset).toBeLessThan(REPLICA_PORT_STRIDE);
  });

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
