import type { JobName, Payload, QueueName } from '@fleet/catalog';
import type { Database, JsonObject } from '@fleet/db';
import type { Job } from 'bullmq';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { ControlWorker } from './control-worker.ts';
import type { WorkerTiming } from './worker-timing.ts';

/** What a handler gets besides its payload. */
export interface HandlerContext<Deps = unknown> {
  /** The BullMQ job (read-only use: id, attemptsStarted, timestamps). */
  job: Job;
  /** Database for the handler's own reads and writes (not autonomous_tasks: the runtime owns it). */
  db: Kysely<Database>;
  /** Child logger carrying task, job, queue, workspace, agent and attempt. */
  log: Logger;
  /** Aborted when an operator cancels the job or the worker shuts down past its grace period. */
  signal: AbortSignal;
  /** Reports progress (0-100 or an object) to BullMQ; cheap, fire and forget is fine. */
  progress(value: number | JsonObject): Promise<void>;
  /** BullMQ attemptsStarted: 1 for the first attempt. */
  attempt: number;
  /** What the agent's setup() returned (providers, settings). */
  deps: Deps;
  /**
   * Marks a value decrypted or fetched while the job runs (an OAuth token, a password) as a
   * secret: until the attempt is settled it is scrubbed, raw and encoded, from log lines, the
   * audit row and the BullMQ job. Secrets from the environment need no registration.
   */
  registerSecret(value: string): void;
}

/**
 * What a handler returns. `output` becomes output_data; `costUsd` becomes cost_estimate_usd.
 * `status: 'partial_failure'` records a batch where some items failed (list them in output);
 * `status: 'failed'` records a definitive failure that is not retried (throw to retry instead).
 */
export interface HandlerResult {
  /** Any JSON-serialisable object (undefined properties are dropped, as JSON does). */
  output?: { [key: string]: unknown };
  costUsd?: number;
  status?: 'completed' | 'partial_failure' | 'failed';
  /** Summary stored in error_message for partial_failure / failed. */
  error?: string;
}

/**
 * A handler that fails or is cancelled after spending money may throw an error carrying a
 * numeric `costUsd` property; the runtime records it on the attempt's row.
 */
export type Handler<P, Deps> = (payload: P, ctx: HandlerContext<Deps>) => Promise<HandlerResult>;

export type Handlers<Q extends QueueName, Deps> = { [J in JobName<Q>]: Handler<Payload<Q, J>, Deps> };

/** Resources handed to an agent's setup(). */
export interface SetupContext<Env> {
  env: Env;
  db: Kysely<Database>;
  log: Logger;
}

export interface AgentDefinition<Q extends QueueName = QueueName, Deps = unknown, EnvShape extends z.ZodRawShape = {}> {
  /** Deployable name, e.g. 'contact-intelligence'; the audit rows' agent_name. */
  name: string;
  queue: Q;
  /** Jobs processed at once by one process (WORKER_CONCURRENCY overrides). */
  concurrency: number;
  /**
   * Jobs one process may hold beyond `concurrency` (AUDIT_ACK_WINDOW overrides; default 4 per
   * handler slot, at most 200; see ack-window.ts). Agents whose jobs take minutes set 0: the
   * window buys them nothing and holds jobs another replica could run.
   */
  ackWindow?: number;
  /** The agent's own environment variables, parsed together with the runtime's. */
  env?: EnvShape;
  /**
   * Rules between the agent's variables (e.g. ENRICHMENT_PROVIDER=http needs a URL and a key), as
   * a zod superRefine whose issues' paths name the variable to set. They are reported with every
   * other configuration problem, and the process exits 78.
   */
  refineEnv?: (env: z.output<z.ZodObject<EnvShape>>, ctx: z.RefinementCtx) => void;
  /** Builds the agent's dependencies (providers, settings) once at start. */
  setup?: (ctx: SetupContext<z.output<z.ZodObject<EnvShape>>>) => Promise<Deps> | Deps;
  /** Releases what setup() created. */
  teardown?: (deps: Deps) => Promise<void> | void;
  handlers: Handlers<Q, Deps>;
  timing?: WorkerTiming;
  /**
   * Control queues the runtime hosts beside `queue` (control-worker.ts): started after setup(),
   * drained and closed with the agent's worker before teardown(), counted in /metrics and
   * checked by /readyz. Their jobs are not audited; the jobs they add are.
   */
  controlWorkers?: ControlWorker<Deps>[];
}

/** Declares an agent; identity function that checks the handlers against the job catalog. */
export function defineAgent<Q extends QueueName, Deps = undefined, EnvShape extends z.ZodRawShape = {}>(
  agent: AgentDefinition<Q, Deps, EnvShape>,
): AgentDefinition<Q, Deps, EnvShape> {
  return agent;
}

/** Any agent, whatever its queue, deps and env: what the runtime accepts. */
// biome-ignore lint/suspicious/noExplicitAny: the runtime treats handlers and deps opaquely
export type AnyAgent = AgentDefinition<any, any, any>;
