import type { Queue } from 'bullmq';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Where a job this process holds is: fetched and waiting for a handler slot, running in one, or
 * finished and waiting for its audit row to commit (only then is it acknowledged).
 */
export const HELD_STATES = ['waiting_for_slot', 'running', 'awaiting_commit'] as const;
export type HeldState = (typeof HELD_STATES)[number];

export interface AgentMetrics {
  registry: Registry;
  jobs: Counter<'queue' | 'job' | 'status'>;
  duration: Histogram<'queue' | 'job' | 'status'>;
  /** fleet_jobs_active: the jobs this process holds, by HeldState. */
  held: Gauge<'queue' | 'state'>;
  auditFailures: Counter<'queue'>;
}

/** Jobs of the control queues the runtime hosts beside the agent's queue (control-worker.ts). */
export interface ControlMetrics {
  /** fleet_control_jobs_total: control job attempts finished, by outcome. */
  controlJobs: Counter<'queue' | 'outcome'>;
  controlDuration: Histogram<'queue' | 'outcome'>;
}

/**
 * prom-client's default gauges whose names end in `_total`, which Prometheus reserves for counters
 * (`promtool check metrics` refuses them). Each is the sum of a gauge prom-client also exports by
 * `type` (`nodejs_active_handles{type="Socket"}` ...): `sum without (type) (nodejs_active_handles)`
 * gives the same figure.
 */
const GAUGES_NAMED_AS_COUNTERS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** prom-client's process and Node.js metrics, without the gauges named like counters. */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of GAUGES_NAMED_AS_COUNTERS) registry.removeSingleMetric(name);
}

/**
 * One registry per agent (not prom-client's global one), so several agents can live in one
 * process, as they do in tests. Queue depth is read from Redis at scrape time, for the agent's
 * queue and each control queue it hosts.
 */
export function createMetrics(options: {
  agent: string;
  queue: Queue;
  controlQueues?: Queue[];
  processMetrics: boolean;
}): AgentMetrics & ControlMetrics {
  const controlQueues = options.controlQueues ?? [];
  const registry = new Registry();
  registry.setDefaultLabels({ agent: options.agent });
  if (options.processMetrics) collectProcessMetrics(registry);
  const jobs = new Counter({
    name: 'fleet_jobs_total',
    help: 'Job attempts finished, by terminal audit status.',
    labelNames: ['queue', 'job', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'fleet_job_duration_seconds',
    help: 'Wall time of job attempts, from start to durable audit row.',
    labelNames: ['queue', 'job', 'status'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
    registers: [registry],
  });
  // Their sum is what BullMQ counts as active for this process; state="running" is what runs.
  const held = new Gauge({
    name: 'fleet_jobs_active',
    help:
      'Jobs this process holds (BullMQ active), by state: waiting_for_slot (fetched, no handler slot free yet), ' +
      'running (in a handler slot), awaiting_commit (handler done, audit row not yet durable, not acknowledged).',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
  });
  for (const state of HELD_STATES) held.set({ queue: options.queue.name, state }, 0);
  const auditFailures = new Counter({
    name: 'fleet_audit_write_failures_total',
    help: 'Attempts failed because their audit row could not be written (they are retried).',
    labelNames: ['queue'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'fleet_queue_depth',
    help: 'Jobs in the queue by state, read from Redis at scrape time.',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      const all = await Promise.all(
        [options.queue, ...controlQueues].map(async (q) => ({
          queue: q.name,
          counts: await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed'),
        })),
      );
      for (const { queue, counts } of all) {
        for (const [state, n] of Object.entries(counts)) this.set({ queue, state }, n);
      }
    },
  });
  // Control jobs (e.g. the scheduler's ticks) are not audited, so they are not fleet_jobs_total.
  const controlJobs = new Counter({
    name: 'fleet_control_jobs_total',
    help: 'Attempts of control jobs (unaudited queues the runtime hosts beside the agent queue), by outcome.',
    labelNames: ['queue', 'outcome'] as const,
    registers: [registry],
  });
  const controlDuration = new Histogram({
    name: 'fleet_control_job_duration_seconds',
    help: 'Wall time of control job attempts.',
    labelNames: ['queue', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [registry],
  });
  for (const q of controlQueues) {
    for (const outcome of ['completed', 'failed']) controlJobs.inc({ queue: q.name, outcome }, 0);
  }
  return { registry, jobs, duration, held, auditFailures, controlJobs, controlDuration };
}
