/**
 * CPU time spent by the three parties of a queue benchmark, read from the kernel's own counters:
 * the bench process (the worker), the Postgres backends serving the bench's database, and the
 * Redis server. A snapshot before and after a round gives CPU per job for each party and the
 * number of cores the round kept busy.
 *
 * Postgres backends are the pids pg_stat_activity lists for the database (the monitor's own
 * connection excluded); a backend that connects during the round counts from zero, so snapshots
 * must be taken before the round's pools close. Redis's figure is the whole server's
 * (`INFO cpu`): on a shared machine it includes other clients of the same server.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type pg from 'pg';

/** Clock ticks per second of /proc/<pid>/stat (`getconf CLK_TCK`; 100 on Linux everywhere). */
const CLK_TCK = 100;

/** utime + stime of a process in ms, or null once it has exited. */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces), from field 3 on.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return null;
  }
}

export interface CpuSnapshot {
  at: number;
  workerMs: number;
  postgres: Map<number, number>;
  redisMs: number;
}

export interface CpuSampler {
  snapshot(): Promise<CpuSnapshot>;
}

/**
 * `monitor` is a connection of its own (its backend is excluded from the figures); `redis` any
 * client of the Redis server under test.
 */
export function createCpuSampler(opts: {
  monitor: pg.Client;
  database: string;
  redis: Pick<Redis, 'info'>;
}): CpuSampler {
  return {
    async snapshot() {
      const { rows } = await opts.monitor.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [opts.database],
      );
      const postgres = new Map<number, number>();
      for (const { pid } of rows) {
        const ms = processCpuMs(pid);
        if (ms !== null) postgres.set(pid, ms);
      }
      const info = await opts.redis.info('cpu');
      const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? 0);
      const usage = process.cpuUsage();
      return {
        at: performance.now(),
        workerMs: (usage.user + usage.system) / 1000,
        postgres,
        redisMs: (field('used_cpu_sys') + field('used_cpu_user')) * 1000,
      };
    },
  };
}

export interface CpuPerJob {
  /** µs of CPU per job. */
  workerUs: number;
  postgresUs: number;
  redisUs: number;
  totalUs: number;
  /** Cores kept busy by the three parties over the round's wall time. */
  cores: number;
}

export function cpuPerJob(start: CpuSnapshot, end: CpuSnapshot, jobs: number): CpuPerJob {
  let postgresMs = 0;
  for (const [pid, ms] of end.postgres) postgresMs += ms - (start.postgres.get(pid) ?? 0);
  const workerMs = end.workerMs - start.workerMs;
  const redisMs = end.redisMs - start.redisMs;
  const us = (ms: number) => Math.round((ms * 1000) / jobs);
  return {
    workerUs: us(workerMs),
    postgresUs: us(postgresMs),
    redisUs: us(redisMs),
    totalUs: us(workerMs + postgresMs + redisMs),
    cores: Number(((workerMs + postgresMs + redisMs) / (end.at - start.at)).toFixed(2)),
  };
}
