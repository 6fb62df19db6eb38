import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { catalog, QUEUE_NAMES } from '@fleet/queues';

/** The repository root (also /app in the image), found from this file's location. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** One deployable of the fleet: an agent worker, or the control plane. */
export interface FleetComponent {
  name: string;
  kind: 'agent' | 'control-plane';
  /** Queues the component consumes (none for the control plane). */
  queues: string[];
  /** Its entry point, relative to the repository root. */
  entry: string;
  /** The variables naming its HTTP port and bind address (/healthz is served there). */
  portVariable: string;
  hostVariable: string;
}

export const CONTROL_PLANE: FleetComponent = {
  name: 'control-plane',
  kind: 'control-plane',
  queues: [],
  entry: 'packages/control-plane/src/main.ts',
  portVariable: 'CONTROL_PLANE_PORT',
  hostVariable: 'CONTROL_PLANE_HOST',
};

/**
 * Every deployable, derived from the job catalog (each queue names the agent that consumes it)
 * plus the control plane. A new queue with a new agent appears here, in the process-mode runner
 * and in the compose test without any other list to update.
 */
export function fleetRegistry(): FleetComponent[] {
  const agents = new Map<string, FleetComponent>();
  for (const queue of QUEUE_NAMES) {
    const name = catalog[queue].agent;
    const entry = agents.get(name) ?? {
      name,
      kind: 'agent' as const,
      queues: [],
      entry: `agents/${name}/src/main.ts`,
      portVariable: 'HTTP_PORT',
      hostVariable: 'HTTP_HOST',
    };
    entry.queues.push(queue);
    agents.set(name, entry);
  }
  return [...agents.values(), CONTROL_PLANE];
}

/** Whether the component's entry point exists in this checkout. */
export function isPresent(component: FleetComponent, root = REPO_ROOT): boolean {
  return existsSync(join(root, component.entry));
}
