import { PayloadValidationError, UnknownJobError } from '@fleet/catalog';
import { type OpsDeps, OpsError, openOps } from '@fleet/ops';
import type { CliContext } from '../context.ts';
import { CliError, explainServiceError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { describeValidationError } from './enqueue.ts';

const OPS_EXIT = {
  invalid_input: ExitCode.usage,
  forbidden: ExitCode.failure,
  not_found: ExitCode.notFound,
  conflict: ExitCode.conflict,
  payload_too_large: ExitCode.invalidPayload,
} as const;

/** Maps an error of the operations layer (or of a service) to the CLI's message and exit code. */
export function explainOpsError(error: unknown, ctx: CliContext): unknown {
  if (error instanceof OpsError) {
    const fields = error.fields.map((f) => `\n  ${f.field}: ${f.message}`).join('');
    const hint =
      error.kind === 'not_found'
        ? 'Task ids are audit row UUIDs or BullMQ job ids (as printed by `fleet enqueue`); `fleet tasks` lists recent ones.'
        : error.kind === 'invalid_input'
          ? 'Check the options above; add --help for the accepted values.'
          : undefined;
    return new CliError(`${error.message}${fields}`, OPS_EXIT[error.kind], hint);
  }
  if (error instanceof UnknownJobError || error instanceof PayloadValidationError)
    return describeValidationError(error);
  return explainServiceError(error, ctx.env());
}

/** Runs `fn` with the operations' connections, closing them afterwards and explaining errors. */
export async function withOps<T>(ctx: CliContext, fn: (deps: OpsDeps) => Promise<T>): Promise<T> {
  const env = ctx.env();
  await ctx.ensureRedis();
  const ops = openOps({
    databaseUrl: env.DATABASE_URL,
    redis: env.REDIS,
    prefix: env.QUEUE_PREFIX,
    poolMax: 2,
    applicationName: 'fleet-cli',
  });
  try {
    return await fn(ops);
  } catch (error) {
    throw explainOpsError(error, ctx);
  } finally {
    await ops.close().catch(() => {});
  }
}
