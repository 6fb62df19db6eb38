import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { fleetRegistry, isPresent, probePort } from '../fleet/registry.ts';
import { formatTable } from '../output/table.ts';

export function registerAgents(program: Command, ctx: () => CliContext): void {
  program
    .command('agents')
    .description('List the deployables of the fleet (from the job catalog) and whether each is in this checkout.')
    .option('--json', 'print as JSON')
    .action((opts: { json?: boolean }) => {
      const c = ctx();
      const rows = fleetRegistry().map((component) => ({ ...component, present: isPresent(component) }));
      if (opts.json) {
        const json = rows.map((r) => ({
          name: r.name,
          kind: r.kind,
          queues: r.queues,
          entry: r.entry,
          port_variable: r.portVariable,
          host_variable: r.hostVariable,
          probe_port: r.kind === 'agent' ? probePort(9464, r, 1) : null,
          present: r.present,
        }));
        c.io.stdout(`${JSON.stringify(json, null, 2)}\n`);
        return;
      }
      c.io.stdout(
        `${formatTable(rows, [
          { header: 'NAME', value: (r) => r.name },
          { header: 'KIND', value: (r) => r.kind },
          { header: 'QUEUES', value: (r) => r.queues.join(',') },
          { header: 'PROBE PORT', value: (r) => (r.kind === 'agent' ? probePort(9464, r, 1) : 8080), align: 'right' },
          { header: 'ENTRY', value: (r) => (r.present ? r.entry : `${r.entry} (missing)`) },
        ])}\n`,
      );
    });
}
