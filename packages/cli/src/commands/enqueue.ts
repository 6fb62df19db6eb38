import { readFile } from 'node:fs/promises';
import {
  catalog,
  PayloadValidationError,
  QUEUE_NAMES,
  TRIGGER_FIELD,
  triggeredBy,
  UnknownJobError,
  validatePayload,
} from '@fleet/catalog';
import { statusUrl } from '@fleet/ops';
import type { EnqueueOptions } from '@fleet/queues';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CliContext } from '../context.ts';
import { CliError, explainServiceError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { parseDuration } from '../output/values.ts';

/** `--data`: inline JSON, `@path/to/file.json`, or `@-` for standard input. */
export async function readPayload(ctx: CliContext, data: string): Promise<unknown> {
  let text = data;
  let source = '--data';
  if (data.startsWith('@')) {
    const path = data.slice(1);
    source = path === '-' ? 'standard input' : path;
    try {
      text = path === '-' ? await ctx.io.readStdin() : await readFile(path, 'utf8');
    } catch (error) {
      throw new CliError(
        `Cannot read the payload file ${path}: ${(error as Error).message}`,
        ExitCode.usage,
        'Pass --data @<path to a JSON file>, --data @- for standard input, or inline JSON.',
      );
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(
      `The payload in ${source} is not valid JSON: ${(error as Error).message}`,
      ExitCode.invalidPayload,
      `Example: --data '{"workspace_id":"5b1f0c8e-2f4a-4c1d-9b7e-3a2d1c0b9a8f"}'`,
    );
  }
}

function positiveInt(label: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${label} must be a whole number ≥ 1.`);
    return n;
  };
}

function delay(value: string): number {
  const ms = parseDuration(value.match(/^\d+$/) ? `${value}ms` : value);
  if (ms === undefined) throw new InvalidArgumentError('use milliseconds or a duration like 30s, 5m, 2h.');
  return Math.round(ms);
}

/** Lists queues, their jobs and the fields each payload takes: the text after `enqueue --help`. */
function catalogHelp(): string {
  const lines = ['', 'Queues and jobs:'];
  for (const name of QUEUE_NAMES) {
    lines.push(`  ${name}  (agent ${catalog[name].agent})`);
    for (const [job, def] of Object.entries(catalog[name].jobs)) {
      const shape = (
        def.payload as unknown as { shape?: Record<string, { safeParse(v: unknown): { success: boolean } }> }
      ).shape;
      const fields = shape
        ? Object.entries(shape)
            .filter(([field]) => field !== TRIGGER_FIELD)
            .map(([field, schema]) => (schema.safeParse(undefined).success ? `[${field}]` : field))
            .join(' ')
        : '';
      lines.push(`    ${job.padEnd(28)} ${fields}`);
    }
  }
  lines.push('  ([field] = optional)');
  return lines.join('\n');
}

interface EnqueueFlags {
  data: string;
  delay?: number;
  priority?: number;
  jobId?: string;
  dedupe?: string;
  attempts?: number;
  triggeredBy: EnqueueOptions['triggeredBy'];
  audit: boolean;
  json?: boolean;
}

export function registerEnqueue(program: Command, ctx: () => CliContext): void {
  program
    .command('enqueue')
    .description('Validate a payload against the job catalog and add the job; prints its id.')
    .argument('<queue>', 'queue name, e.g. analytics_queue')
    .argument('<job>', 'job name, e.g. daily_analytics_rollup')
    .option('-d, --data <json|@file>', 'payload: inline JSON, @file.json, or @- for stdin', '{}')
    .option('--delay <duration>', 'run no earlier than this from now (ms, or 30s, 5m, 2h)', delay)
    .option('--priority <n>', '1 is highest; unprioritized jobs run first, as in BullMQ', positiveInt('--priority'))
    .option('--job-id <id>', 'BullMQ job id (default: a new UUID); an existing id returns that job')
    .option('--dedupe <id>', 'while a job with this deduplication id is pending, return it instead')
    .option('--attempts <n>', "override the catalog's attempt count", positiveInt('--attempts'))
    .addOption(
      new Option('--triggered-by <who>', 'stored in autonomous_tasks.triggered_by')
        .choices(triggeredBy.options)
        .default('manual'),
    )
    .option('--no-audit', 'do not write the pending audit row (no Postgres needed)')
    .option('--json', 'print {queue, job, job_id, created, status_url} as JSON')
    .addHelpText(
      'after',
      `${catalogHelp()}

The job id goes to stdout alone, so scripts can capture it:
  $ id=$(fleet enqueue analytics_queue daily_analytics_rollup --data '{"workspace_id":"<uuid>","date":"2025-11-17"}')
  $ fleet task "$id"
  $ fleet enqueue contact_intelligence_queue lead_scoring_batch --data @payload.json --priority 1`,
    )
    .action(async (queue: string, job: string, opts: EnqueueFlags) => {
      const c = ctx();
      const payload = await readPayload(c, opts.data);
      // Validate before connecting anywhere: a bad payload fails the same with or without services.
      try {
        validatePayload(queue, job, payload);
      } catch (error) {
        throw describeValidationError(error);
      }
      const options: EnqueueOptions = {
        triggeredBy: opts.triggeredBy,
        ...(opts.delay !== undefined ? { delay: opts.delay } : {}),
        ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
        ...(opts.jobId ? { jobId: opts.jobId } : {}),
        ...(opts.dedupe ? { deduplicationId: opts.dedupe } : {}),
        ...(opts.attempts !== undefined ? { attempts: opts.attempts } : {}),
      };
      await c.ensureRedis();
      const producer = c.producer({ audit: opts.audit });
      let result: Awaited<ReturnType<typeof producer.enqueueRaw>>;
      try {
        result = await producer.enqueueRaw(queue, job, payload, options);
      } catch (error) {
        throw explainServiceError(error, c.env());
      }
      if (opts.json) {
        const { queue: q, jobName, jobId, created } = result;
        c.io.stdout(
          `${JSON.stringify({ queue: q, job: jobName, job_id: jobId, created, status_url: statusUrl(q, jobId) })}\n`,
        );
      } else {
        c.io.stdout(`${result.jobId}\n`);
        if (!result.created) c.io.stderr(`note: a job with this id already existed; nothing new was added\n`);
      }
    });
}

export function describeValidationError(error: unknown): unknown {
  if (error instanceof UnknownJobError) {
    return new CliError(
      error.message,
      ExitCode.notFound,
      'Run `fleet enqueue --help` for the list of queues and jobs.',
    );
  }
  if (error instanceof PayloadValidationError) {
    const lines = error.problems.map((p) => `  ${p.field}: ${p.message}`).join('\n');
    return new CliError(
      `Invalid payload for ${error.queue}/${error.job}:\n${lines}`,
      ExitCode.invalidPayload,
      'Fix the fields above; `fleet enqueue --help` lists the fields of every job.',
    );
  }
  return error;
}
