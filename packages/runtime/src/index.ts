export {
  type AgentDefinition,
  defineAgent,
  type Handler,
  type HandlerContext,
  type HandlerResult,
  type Handlers,
  type SetupContext,
  type WorkerTiming,
} from './define-agent.ts';
export { PermanentError, RetryLaterError } from './errors.ts';
