import { z } from 'zod';
import { catalog, jobsOf, QUEUE_NAMES } from './catalog.ts';

type Json = Record<string, unknown>;

/**
 * Every job's payload as JSON Schema (draft 2020-12), for producers in other languages: one
 * document whose `$defs` are keyed by job name, each with the queue to add it to. Generated from
 * the same zod schemas the producer and the workers validate with; `io: 'input'` describes what a
 * producer sends (defaults are filled in by the worker).
 */
export function payloadJsonSchemas(): Json {
  const defs: Record<string, Json> = {};
  for (const queue of QUEUE_NAMES) {
    const q = catalog[queue];
    for (const [job, def] of jobsOf(queue)) {
      if (defs[job]) throw new Error(`job name ${job} is in two queues; key the schemas by queue too`);
      const { $schema: _, ...schema } = z.toJSONSchema(def.payload, {
        io: 'input',
        target: 'draft-2020-12',
        unrepresentable: 'any',
      }) as Json;
      defs[job] = {
        title: job,
        description: def.description,
        'x-fleet-queue': queue,
        'x-fleet-scope': def.scope,
        'x-fleet-task-type': def.taskType,
        'x-fleet-max-payload-bytes': q.maxPayloadBytes,
        ...schema,
      };
    }
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'Agent fleet job payloads',
    description:
      'One definition per job: add a BullMQ job named after the definition to the queue its x-fleet-queue names, with a payload valid against it.',
    $defs: defs,
  };
}
