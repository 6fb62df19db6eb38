export { auditJobId, parseAuditJobId } from './audit-id.ts';
export {
  type Catalog,
  catalog,
  findJob,
  isQueueName,
  type JobDef,
  type JobDefinition,
  type JobName,
  type Payload,
  type PayloadInput,
  QUEUE_NAMES,
  type QueueDefinition,
  type QueueName,
  taskTypeOf,
} from './catalog.ts';
export { baseFields, isoDate, rowId, triggeredBy, workspaceId } from './common.ts';
export { type ConnectionRole, createRedis, redisOptions } from './connection.ts';
export {
  createProducer,
  type EnqueueOptions,
  type EnqueueResult,
  type Producer,
  type ProducerOptions,
} from './producer.ts';
export { type FieldProblem, PayloadValidationError, UnknownJobError, validatePayload } from './validate.ts';
