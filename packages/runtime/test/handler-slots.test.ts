import { ConfigError, parseEnv } from '@fleet/config';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { workerCapacity } from '../src/ack-window.ts';
import { runtimeEnvShape } from '../src/env.ts';
import { createHandlerSlots } from '../src/handler-slots.ts';

describe('handler slots', () => {
  it('let as many run as there are slots and hand freed slots to waiters in arrival order', async () => {
    const slots = createHandlerSlots(2);
    const a = slots.tryAcquire()!;
    const b = slots.tryAcquire()!;
    expect(slots.tryAcquire()).toBeNull();
    const order: string[] = [];
    const granted = (name: string) => (release: () => void) => {
      order.push(name);
      return release;
    };
    const c = slots.acquire().then(granted('c'));
    const d = slots.acquire().then(granted('d'));
    a();
    a(); // a second release of the same slot gives nothing back
    const releaseC = await c;
    expect(order).toEqual(['c']);
    // A newcomer does not overtake d, which waits for the next slot.
    expect(slots.tryAcquire()).toBeNull();
    b();
    (await d)();
    releaseC();
    expect(order).toEqual(['c', 'd']);
    expect(slots.free).toBe(2);
  });

  it('drop a waiter whose signal aborts, and refuse every waiter once closed', async () => {
    const slots = createHandlerSlots(1);
    const held = slots.tryAcquire()!;
    const controller = new AbortController();
    const cancelled = slots.acquire(controller.signal);
    const queued = slots.acquire();
    controller.abort('cancelled by an operator');
    await expect(cancelled).rejects.toBe('cancelled by an operator');
    slots.close('worker shutting down');
    await expect(queued).rejects.toBe('worker shutting down');
    await expect(slots.acquire()).rejects.toBe('worker shutting down');
    held();
    expect(slots.free).toBe(1);
  });
});

describe('worker capacity', () => {
  it('holds 4 jobs per slot beyond the slots, at most 200, unless the agent or AUDIT_ACK_WINDOW says otherwise', () => {
    const agent = { concurrency: 2 };
    expect(workerCapacity({}, agent)).toEqual({ slots: 2, window: 8, held: 10 });
    expect(workerCapacity({ WORKER_CONCURRENCY: 50 }, agent)).toEqual({ slots: 50, window: 200, held: 250 });
    expect(workerCapacity({ WORKER_CONCURRENCY: 100 }, agent)).toEqual({ slots: 100, window: 200, held: 300 });
    expect(workerCapacity({ AUDIT_ACK_WINDOW: 0 }, { concurrency: 3 })).toEqual({ slots: 3, window: 0, held: 3 });
    // The agent's own window, which the variable still overrides.
    expect(workerCapacity({}, { concurrency: 2, ackWindow: 0 })).toEqual({ slots: 2, window: 0, held: 2 });
    expect(workerCapacity({ AUDIT_ACK_WINDOW: 6 }, { concurrency: 2, ackWindow: 0 })).toEqual({
      slots: 2,
      window: 6,
      held: 8,
    });
  });
});

describe('AUDIT_ACK_WINDOW', () => {
  const parse = (value: string) =>
    parseEnv('test-agent', z.object(runtimeEnvShape), {
      DATABASE_URL: 'postgres://localhost/fleet',
      REDIS_URL: 'redis://localhost:6379',
      AUDIT_ACK_WINDOW: value,
    });

  it('is parsed as a whole number of jobs, and a bad value is named', () => {
    expect(parse('0').AUDIT_ACK_WINDOW).toBe(0);
    expect(parse('250').AUDIT_ACK_WINDOW).toBe(250);
    for (const [value, problem] of [
      ['-1', "AUDIT_ACK_WINDOW: must be zero or more, got '-1'"],
      ['1.5', "AUDIT_ACK_WINDOW: must be a whole number, got '1.5'"],
      ['lots', "AUDIT_ACK_WINDOW: must be a number, got 'lots'"],
    ]) {
      let caught: unknown;
      try {
        parse(value!);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).problems).toEqual([problem]);
    }
  });
});
