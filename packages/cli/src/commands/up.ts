import { type Command, InvalidArgumentError } from 'commander';
import type { CliContext } from '../context.ts';
import { CliError } from '../errors.ts';
import { fleetRegistry, probePort, REPLICA_PORT_STRIDE } from '../fleet/registry.ts';
import { runFleet } from '../fleet/run-fleet.ts';

function portOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port, 0 to 65535.');
  return n;
}

function msOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of milliseconds.');
  return n;
}

interface UpFlags {
  migrate: boolean;
  basePort: number;
  controlPlanePort: number;
  stopGrace: number;
}

export function registerUp(program: Command, ctx: () => CliContext): void {
  const registry = fleetRegistry();
  const names = registry.map((c) => c.name);
  const probeTable = registry
    .filter((c) => c.kind === 'agent')
    .map((c) => `${c.name} ${probePort(9464, c, 1)}`)
    .join(', ');
  program
    .command('up')
    .description('Process mode: migrate, then run the fleet as child processes until Ctrl-C/SIGTERM.')
    .argument('[components...]', 'NAME or NAME=REPLICAS; default every component once')
    .option('--no-migrate', 'skip applying migrations first')
    .option(
      '--base-port <port>',
      "agents' probe ports (/healthz, /metrics) are this + a fixed offset each (see below; 0 = free ports)",
      portOption,
      9464,
    )
    .option('--control-plane-port <port>', "the control plane's HTTP port (0 = a free port)", portOption, 8080)
    .option(
      '--stop-grace <ms>',
      'time between SIGTERM and SIGKILL when stopping (longer than SHUTDOWN_GRACE_MS)',
      msOption,
      35_000,
    )
    .addHelpText(
      'after',
      `
Components: ${names.join(', ')}

Probe ports (--base-port 9464): ${probeTable}; replica n of an agent adds ${REPLICA_PORT_STRIDE} × (n − 1).
Before starting, every port is checked: one held by another process stops the run (exit 78).

Each process is started as in the containers (docker/entrypoint.sh agent <name>), against
DATABASE_URL and REDIS_URL (default: the local services), with its output prefixed by its name.
A process that exits on its own is restarted after 1 s, 2 s, 4 s … 30 s, and the jobs it was
running are recovered at once (their rows closed, the jobs retried); one that exits with a
configuration error (78) is not restarted. Ctrl-C or SIGTERM stops every process gracefully (the
copies of one Ctrl-C that a terminal and npm/tsx deliver count once); Ctrl-C again after a second
kills them.

Examples:
  $ fleet up
  $ fleet up contact-intelligence=3 analytics scheduler
  $ DATABASE_URL=postgres://postgres@127.0.0.1:5432/fleet_dev LOG_LEVEL=debug fleet up --no-migrate`,
    )
    .action(async (components: string[], opts: UpFlags) => {
      const c = ctx();
      const code = await runFleet(c, {
        components,
        migrate: opts.migrate,
        basePort: opts.basePort,
        controlPlanePort: opts.controlPlanePort,
        stopGraceMs: opts.stopGrace,
      });
      if (code !== 0) {
        throw new CliError(
          'some processes did not run or did not stop cleanly (see the `fleet |` lines above)',
          code as never,
        );
      }
    });
}
