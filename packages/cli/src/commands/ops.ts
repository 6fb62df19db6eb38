import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { registerRetryCancel } from './retry-cancel.ts';
import { registerStatus } from './status.ts';
import { registerTasks } from './tasks.ts';

/** The commands built on @fleet/ops (shared with the control plane's HTTP API). */
export function registerOps(program: Command, ctx: () => CliContext): void {
  registerStatus(program, ctx);
  registerTasks(program, ctx);
  registerRetryCancel(program, ctx);
}
