import { cancelTask, retryTask } from '@fleet/ops';
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
        c.io.stdout(`${JSON.stringify(result)}\n`);
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
    .description('Cancel a task: remove its waiting job, or signal the worker running it to abort.')
    .argument('<id>', 'audit row id or BullMQ job id')
    .option('-q, --queue <queue>', 'the queue, when a job id exists on several')
    .option('-r, --reason <text>', 'recorded in error_message', 'cancelled by an operator')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
A waiting or delayed job is removed and recorded as cancelled at once. A running job's worker is
asked to abort through the cancel channel; its audit row turns cancelled when the handler stops.
Exit code 4 when the task has already finished.`,
    )
    .action(async (id: string, opts: { queue?: string; reason: string; json?: boolean }) => {
      const c = ctx();
      const result = await withOps(c, (ops) =>
        cancelTask(ops, id, { reason: opts.reason, ...(opts.queue ? { queue: opts.queue } : {}) }),
      );
      if (opts.json) {
        c.io.stdout(`${JSON.stringify(result)}\n`);
        return;
      }
      const message = {
        removed: `removed waiting job ${result.jobId} from ${result.queue}; recorded as cancelled`,
        closed: `job ${result.jobId} was no longer queued; its pending row is closed as cancelled`,
        signalled: `asked the worker running job ${result.jobId} to abort (${'receivers' in result ? result.receivers : 0} process(es) listening)`,
      }[result.action];
      c.io.stdout(`${message}\n`);
      if (result.action === 'signalled' && result.receivers === 0) {
        c.io.stderr(
          'warning: no worker process is listening; the job keeps running until its worker reconnects or it finishes\n',
        );
      }
    });
}
