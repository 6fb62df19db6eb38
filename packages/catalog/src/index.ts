export {
  type AttemptIdentity,
  attemptIdentity,
  type JobFields,
  TRIGGER_FIELD,
  triggerOf,
  withoutTrigger,
  withTrigger,
  workspaceOf,
} from './attempt-identity.ts';
export { auditJobId, parseAuditJobId } from './audit-id.ts';
export {
  type Catalog,
  catalog,
  findJob,
  isQueueName,
  type JobDef,
  type JobDefinition,
  type JobName,
  type JobScope,
  jobsOf,
  type Payload,
  type PayloadInput,
  QUEUE_NAMES,
  type QueueDefinition,
  type QueueName,
  taskTypeOf,
} from './catalog.ts';
export {
  baseFields,
  isoDate,
  isoDateTime,
  isoMonth,
  isSupportedTime,
  rowId,
  SUPPORTED_YEARS,
  type Trigger,
  triggeredBy,
  workspaceId,
} from './common.ts';
export { payloadJsonSchemas } from './json-schema.ts';
export { type FieldProblem, PayloadValidationError, UnknownJobError, validatePayload } from './validate.ts';
