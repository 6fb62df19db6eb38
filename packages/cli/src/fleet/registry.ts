import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { catalog, QUEUE_NAMES } from '@fleet/catalog';

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
  /** Agents: where its probe port sits above `fleet up --base-port` (PROBE_PORT_OFFSETS). */
  probeOffset?: number;
}

/**
 * Each agent's probe port in process mode is `--base-port` + its offset, whatever subset runs,
 * so a scrape config or a bookmark stays right: with the default 9464, contact-intelligence
 * answers on 9464, analytics on 9465, … scheduler on 9469. Replica n (n ≥ 2) of an agent adds
 * REPLICA_PORT_STRIDE × (n − 1): analytics#2 is 9475. A new agent needs its own offset here (the
 * registry refuses to build without one).
 */
export const PROBE_PORT_OFFSETS: Readonly<Record<string, number>> = {
  'contact-intelligence': 0,
  analytics: 1,
  'email-integration': 2,
  'continuous-intelligence': 3,
  'media-transcription': 4,
  scheduler: 5,
  'content-calendar': 6,
  'social-publisher': 7,
};
export const REPLICA_PORT_STRIDE = 10;

/** The probe port of replica `replica` (1-based) of an agent, from the base port. */
export function probePort(basePort: number, component: FleetComponent, replica: number): number {
  if (component.probeOffset === undefined) throw new Error(`${component.name} has no probe port`);
  return basePort + component.probeOffset + REPLICA_PORT_STRIDE * (replica - 1);
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
    const probeOffset = PROBE_PORT_OFFSETS[name];
    if (probeOffset === undefined) {
      throw new Error(
        `agent ${name} (queue ${queue}) has no probe port offset: add it to PROBE_PORT_OFFSETS in packages/cli/src/fleet/registry.ts`,
      );
    }
    const entry = agents.get(name) ?? {
      name,
      kind: 'agent' as const,
      queues: [],
      entry: `agents/${name}/src/main.ts`,
      portVariable: 'HTTP_PORT',
      hostVariable: 'HTTP_HOST',
      probeOffset,
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
