/**
 * @fleet/client: what another service needs to enqueue fleet jobs. Built into one ES module with
 * type declarations (build.ts); the fleet's own packages are bundled in, npm packages stay
 * dependencies.
 */
export {
  type Catalog,
  catalog,
  type FieldProblem,
  findJob,
  isQueueName,
  type JobDefinition,
  type JobName,
  type JobScope,
  type Payload,
  type PayloadInput,
  PayloadValidationError,
  payloadJsonSchemas,
  QUEUE_NAMES,
  type QueueDefinition,
  type QueueName,
  UnknownJobError,
  validatePayload,
} from '@fleet/catalog';
export {
  createProducer,
  type EnqueueOptions,
  type EnqueueResult,
  EnqueueUnconfirmedError,
  type Producer,
  type ProducerOptions,
} from '@fleet/queues';
export { createFleetClient, type FleetClientOptions } from './client.ts';
