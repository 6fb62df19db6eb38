import { ConfigError } from '@fleet/config';
import { Command, CommanderError } from 'commander';
import { registerAgents } from './commands/agents.ts';
import { registerApiKeys } from './commands/api-keys.ts';
import { registerCatalog } from './commands/catalog.ts';
import { registerEnqueue } from './commands/enqueue.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerOps } from './commands/ops.ts';
import { registerSchedules } from './commands/schedules.ts';
import { registerUp } from './commands/up.ts';
import { type CliContext, type CliIO, createContext } from './context.ts';
import { CliError } from './errors.ts';
import { EXIT_CODE_HELP, ExitCode } from './exit-codes.ts';

const ENV_HELP = `Environment:
  DATABASE_URL   Postgres (default postgres://postgres@127.0.0.1:5432/fleet)
  REDIS_URL      Redis (default redis://127.0.0.1:6379)
  QUEUE_PREFIX   BullMQ key prefix the agents use (default {fleet})`;

/** The `fleet` program; `ctx` is created on first use by a command. */
export function buildProgram(getContext: () => CliContext, io: CliIO): Command {
  const program = new Command('fleet')
    .description(
      'Operate the agent fleet: migrations, jobs, audit rows, schedules, and the whole fleet in process mode.',
    )
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .addHelpText('after', `\n${ENV_HELP}\n\n${EXIT_CODE_HELP}`);
  registerUp(program, getContext);
  registerMigrate(program, getContext);
  registerEnqueue(program, getContext);
  registerOps(program, getContext);
  registerSchedules(program, getContext);
  registerApiKeys(program, getContext);
  registerAgents(program, getContext);
  registerCatalog(program, getContext);
  // Sub-commands inherit output, error handling and exit override from the program.
  const configure = (command: Command) => {
    command.configureOutput({ writeOut: io.stdout, writeErr: io.stderr }).showHelpAfterError('(add --help for usage)');
    command.exitOverride();
    for (const sub of command.commands) configure(sub);
  };
  for (const command of program.commands) configure(command);
  return program;
}

export const processIO: CliIO = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  isTTY: Boolean(process.stdout.isTTY),
};

/** Runs the CLI with `argv` (user arguments only) and resolves to the exit code. */
export async function runCli(argv: string[], options: { io?: CliIO; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const io = options.io ?? processIO;
  let ctx: CliContext | undefined;
  const getContext = () => {
    ctx ??= createContext(io, options.env ?? process.env);
    return ctx;
  };
  const program = buildProgram(getContext, io);
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return ExitCode.usage;
    }
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (error) {
    return reportError(error, io);
  } finally {
    await ctx?.close();
  }
}

function reportError(error: unknown, io: CliIO): number {
  if (error instanceof CommanderError) {
    // Commander has printed its message already; help and version are successes.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
    if (error.code === 'commander.help') return ExitCode.ok;
    return ExitCode.usage;
  }
  if (error instanceof ConfigError) {
    io.stderr(`${error.message}\n`);
    return ExitCode.config;
  }
  if (error instanceof CliError) {
    io.stderr(`error: ${error.message}\n`);
    if (error.hint) io.stderr(`hint: ${error.hint}\n`);
    return error.exitCode;
  }
  io.stderr(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return ExitCode.failure;
}
