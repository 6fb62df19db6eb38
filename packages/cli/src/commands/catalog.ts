import { catalog, jobsOf, payloadJsonSchemas, QUEUE_NAMES } from '@fleet/catalog';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { formatTable } from '../output/table.ts';

function catalogRows() {
  return QUEUE_NAMES.flatMap((queue) =>
    jobsOf(queue).map(([job, def]) => ({
      queue,
      job,
      agent: catalog[queue].agent,
      scope: def.scope,
      task_type: def.taskType,
      description: def.description,
    })),
  );
}

export function registerCatalog(program: Command, ctx: () => CliContext): void {
  program
    .command('catalog')
    .description('List every job of the catalog: its queue, agent, scope and task type.')
    .option('--json', 'print as JSON')
    .option('--json-schema', 'print the JSON Schema (draft 2020-12) of every job payload, for other languages')
    .action((opts: { json?: boolean; jsonSchema?: boolean }) => {
      const c = ctx();
      if (opts.jsonSchema) {
        c.io.stdout(`${JSON.stringify(payloadJsonSchemas(), null, 2)}\n`);
        return;
      }
      const rows = catalogRows();
      if (opts.json) {
        c.io.stdout(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      c.io.stdout(
        `${formatTable(rows, [
          { header: 'QUEUE', value: (r) => r.queue },
          { header: 'JOB', value: (r) => r.job },
          { header: 'AGENT', value: (r) => r.agent },
          { header: 'SCOPE', value: (r) => r.scope },
          { header: 'DESCRIPTION', value: (r) => r.description },
        ])}\n`,
      );
    });
}
