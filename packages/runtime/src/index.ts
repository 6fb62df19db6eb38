export { ACK_WINDOW_PER_SLOT, MAX_DEFAULT_ACK_WINDOW, type WorkerCapacity, workerCapacity } from './ack-window.ts';
export { type CancelMessage, cancelChannel, publishCancel } from './cancel-channel.ts';
export {
  type CancelMarks,
  cancelMarksKey,
  clearCancelMark,
  createCancelMarks,
  MARK_TTL_MS,
  markCancelled,
  readCancelMark,
} from './cancel-marks.ts';
export {
  type ControlContext,
  type ControlWorker,
  type ControlWorkerHostOptions,
  type HostedControlWorker,
  hostControlWorker,
} from './control-worker.ts';
export {
  type AgentDefinition,
  type AnyAgent,
  defineAgent,
  type Handler,
  type HandlerContext,
  type HandlerResult,
  type Handlers,
  type SetupContext,
} from './define-agent.ts';
export { describeError } from './describe-error.ts';
export { type RuntimeEnv, runtimeEnvShape } from './env.ts';
export { PermanentError, RetryLaterError } from './errors.ts';
export {
  backoffDelayMs,
  DEFAULT_HTTP_RETRY_POLICY,
  type FetchRetryOptions,
  fetchWithRetry,
  type HttpAnswer,
  HttpRequestError,
  type HttpRetryPolicy,
  type RetryInfo,
  type RetryOptions,
  retryAfterMs,
  type Transient,
  TransientAnswerError,
  transientStatus,
  withRetry,
} from './http-retry.ts';
export { explainListenError } from './http-server.ts';
export { createLogger } from './logger.ts';
export { type LostWorkerOptions, type RecoveredJob, recoverLostWorkerJobs } from './lost-worker.ts';
export { HELD_STATES, type HeldState } from './metrics.ts';
export type { AttemptStep, OnAttemptStep } from './processor.ts';
export { runAgent } from './run-agent.ts';
export {
  createScrubber,
  providerExcerpt,
  REDACTED,
  redactCredentials,
  type Scrubber,
  type SecretScope,
  secretValuesFromEnv,
  secretVariants,
} from './secrets.ts';
export { type RunningAgent, type StartAgentOptions, startAgent } from './start-agent.ts';
export { withTimeout } from './with-timeout.ts';
export { DEFAULT_WORKER_TIMING, type WorkerTiming, workerTiming } from './worker-timing.ts';
