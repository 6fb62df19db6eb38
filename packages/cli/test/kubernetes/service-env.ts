/**
 * What each fleet process reads from its environment, from the zod schemas it parses at start,
 * and what a rendered container actually gives it.
 */
import { join } from 'node:path';
import { runtimeEnvShape } from '@fleet/runtime';
import type { z } from 'zod';
import { migrateEnvShape } from '../../src/cli-env.ts';
import { fleetRegistry, REPO_ROOT } from '../../src/fleet/registry.ts';
import { type K8sObject, valuesOf } from './render.ts';

export type EnvShape = Record<string, z.ZodType>;

/** The process a container runs, from its arguments to docker/entrypoint.sh. */
export function serviceOf(args: string[] | undefined): string | undefined {
  if (args?.[0] === 'agent') return args[1];
  if (args?.[0] === 'control-plane' || args?.[0] === 'migrate') return args[0];
  return undefined;
}

/**
 * The env shape of every service: each agent's is the runtime's plus its own (as startAgent
 * parses them), the control plane's is its schema, and migrate's is `fleet migrate`'s.
 */
export async function serviceEnvShapes(): Promise<Map<string, EnvShape>> {
  const shapes = new Map<string, EnvShape>([['migrate', migrateEnvShape]]);
  for (const component of fleetRegistry()) {
    if (component.kind === 'control-plane') {
      const { controlPlaneEnvSchema } = await import('@fleet/control-plane');
      shapes.set(component.name, controlPlaneEnvSchema.shape);
    } else {
      const agent = (await import(join(REPO_ROOT, `agents/${component.name}/src/index.ts`))).default as {
        env?: EnvShape;
      };
      shapes.set(component.name, { ...runtimeEnvShape, ...(agent.env ?? {}) });
    }
  }
  return shapes;
}

/** A variable the process cannot start without: its schema rejects "not set". */
export const isRequired = (schema: z.ZodType) => !schema.safeParse(undefined).success;

export interface EnvSource {
  value: string;
  from: 'inline' | 'ConfigMap' | 'Secret';
  object?: string;
}

/**
 * Every variable a container gets, with where it comes from (later sources win, as in the
 * kubelet: envFrom in order, then env). A reference to a missing object or key is an error.
 */
// biome-ignore lint/suspicious/noExplicitAny: a rendered container
export function containerEnv(container: any, objects: K8sObject[]): Map<string, EnvSource> {
  const find = (kind: 'ConfigMap' | 'Secret', name: string) => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
    if (!found) throw new Error(`container ${container.name} refers to a missing ${kind} ${name}`);
    return found;
  };
  const env = new Map<string, EnvSource>();
  for (const source of container.envFrom ?? []) {
    const kind = source.configMapRef ? 'ConfigMap' : 'Secret';
    const name = (source.configMapRef ?? source.secretRef).name;
    for (const [key, value] of Object.entries(valuesOf(find(kind, name)))) {
      env.set(`${source.prefix ?? ''}${key}`, { value, from: kind, object: name });
    }
  }
  for (const entry of container.env ?? []) {
    if (entry.value !== undefined) {
      env.set(entry.name, { value: String(entry.value), from: 'inline' });
      continue;
    }
    const ref = entry.valueFrom?.secretKeyRef ?? entry.valueFrom?.configMapKeyRef;
    if (!ref) continue;
    const kind = entry.valueFrom.secretKeyRef ? 'Secret' : 'ConfigMap';
    const value = valuesOf(find(kind, ref.name))[ref.key];
    if (value === undefined) throw new Error(`${entry.name}: ${kind} ${ref.name} has no key ${ref.key}`);
    env.set(entry.name, { value, from: kind, object: ref.name });
  }
  return env;
}

export const asProcessEnv = (env: Map<string, EnvSource>): NodeJS.ProcessEnv =>
  Object.fromEntries([...env].map(([name, { value }]) => [name, value]));
