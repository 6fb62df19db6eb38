import { CliError, usageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { type FleetComponent, isPresent } from './registry.ts';

export interface Selected {
  component: FleetComponent;
  replicas: number;
}

export interface Selection {
  selected: Selected[];
  /** Registry entries left out because their entry point is not in this checkout. */
  missing: FleetComponent[];
}

/**
 * Reads `fleet up` arguments: none means every component once; `name` or `name=3` picks
 * components and replica counts. Unknown names are a usage error; a named component whose
 * folder does not exist is an error too, while an unnamed one is skipped with a notice (agents
 * land one by one; the fleet runs whatever exists).
 */
export function selectComponents(args: string[], registry: FleetComponent[], root?: string): Selection {
  const byName = new Map(registry.map((c) => [c.name, c]));
  if (args.length === 0) {
    const present = registry.filter((c) => isPresent(c, root));
    return {
      selected: present.map((component) => ({ component, replicas: 1 })),
      missing: registry.filter((c) => !isPresent(c, root)),
    };
  }
  const selected = new Map<string, Selected>();
  for (const arg of args) {
    const m = /^([a-z0-9-]+)(?:=(\d+))?$/.exec(arg);
    if (!m)
      throw usageError(`"${arg}" is not NAME or NAME=REPLICAS`, 'Example: fleet up analytics contact-intelligence=3');
    const [, name, count] = m;
    const component = byName.get(name!);
    if (!component) {
      throw usageError(`unknown component "${name}"`, `Known: ${registry.map((c) => c.name).join(', ')}`);
    }
    const replicas = count === undefined ? 1 : Number(count);
    if (replicas < 1 || replicas > 32) throw usageError(`${name}: replicas must be 1 to 32, got ${count}`);
    if (!isPresent(component, root)) {
      throw new CliError(
        `${name} is not in this checkout: ${component.entry} does not exist`,
        ExitCode.notFound,
        'Leave it out of the list, or run `fleet agents` to see which components exist.',
      );
    }
    selected.set(name!, { component, replicas });
  }
  return { selected: [...selected.values()], missing: [] };
}
