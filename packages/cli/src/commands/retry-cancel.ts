import { cancelTask, presentCancel, presentRetry, retryTask } from '@fleet/ops';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { withOps } from './ops-context.ts';

export function registerRetryCancel(program: Command, ctx: () => CliContext): void {
  program
    .command('retry')
    .description('Run a finished task again: a failed job is retried in place, a completed one is enqueued anew.')
    .argument('<id>', 'audit row id or BullMQ job id')
    .option('-q, --queue <queue>', 'the queue, when a job id exists on several')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Prints the job id that will run (the same id for an in-place retry, a new one otherwise).
Exit code 4 when the task is still waiting or running: cancel it first or let it finish.`,
    )
    .action(async (id: string, opts: { queue?: string; json?: boolean }) => {
      const c = ctx();
      const result = await withOps(c, (ops) => retryTask(ops, id, opts.queue ? { queue: opts.queue } : {}));
      if (opts.json) {
        c.io.stdout(`${JSON.stringify(presentRetry(result))}\n`);
        return;
      }
      c.io.stdout(`${result.jobId}\n`);
      c.io.stderr(
        result.action === 'retried'
          ? `retried job ${result.jobId} on ${result.queue} in place (next attempt)\n`
          : `enqueued a new job ${result.jobId} on ${result.queue} (previous job ${result.previousJobId})\n`,
      );
    });

  program
    .command('cancel')
    .description('Cancel a task wherever its job is: waiting, delayed, running, or stalled after its worker died.')
    .argument('<id>', 'audit row id or BullMQ job id')
    .option('-q, --queue <queue>', 'the queue, when a job id exists on several')
    .option('-r, --reason <text>', 'recorded in error_message', 'cancelled by an operator')
    .option('--json', 'print {outcome, action, queue, job_id, attempt, receivers, message} as JSON')
    .addHelpText(
      'after',
      `
What it prints:
  cancelled: …                        the task's row is cancelled now (a waiting job was removed, or
                                      the worker running it stopped it)
  will be cancelled when recovered: … the cancel is recorded, but the worker holding the job has not
                                      stopped it yet (it is stopping, or it died); the job never runs
                                      again and its row ends cancelled when it is recovered
Exit code 4 when the task has already finished ("already finished").`,
    )
    .action(async (id: string, opts: { queue?: string; reason: string; json?: boolean }) => {
      const c = ctx();
      const result = await withOps(c, (ops) =>
        cancelTask(ops, id, { reason: opts.reason, ...(opts.queue ? { queue: opts.queue } : {}) }),
      );
      c.io.stdout(opts.json ? `${JSON.stringify(presentCancel(result))}\n` : `${result.message}\n`);
    });
}
