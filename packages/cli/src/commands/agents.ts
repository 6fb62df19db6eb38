import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { fleetRegistry, isPresent } from '../fleet/registry.ts';
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
        c.io.stdout(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      c.io.stdout(
        `${formatTable(rows, [
          { header: 'NAME', value: (r) => r.name },
          { header: 'KIND', value: (r) => r.kind },
          { header: 'QUEUES', value: (r) => r.queues.join(',') },
          { header: 'ENTRY', value: (r) => (r.present ? r.entry : `${r.entry} (missing)`) },
        ])}\n`,
      );
    });
}
