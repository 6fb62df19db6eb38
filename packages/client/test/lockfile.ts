import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

type LockEntry = Record<string, unknown> & { version?: string; dependencies?: Record<string, string> };

/**
 * A package-lock.json for a project that depends on a client tarball and on `extra` packages,
 * with every npm package pinned to the version, URL and integrity the monorepo's own lockfile
 * has. npm then installs it from its cache alone (`npm ci --offline`): the tarballs are there
 * since the monorepo was installed, while the registry's version lists need not be.
 */
export async function lockfileFor(options: {
  repoLock: string;
  tarball: string;
  tarballName: string;
  client: { name: string; version: string; dependencies: Record<string, string> };
  extra: Record<string, string>;
}): Promise<{ lock: unknown; dependencies: Record<string, string> }> {
  const repo = JSON.parse(await readFile(options.repoLock, 'utf8')) as { packages: Record<string, LockEntry> };
  const integrity = `sha512-${createHash('sha512')
    .update(await readFile(options.tarball))
    .digest('base64')}`;
  const packages: Record<string, LockEntry> = {};
  const todo = [...Object.keys(options.client.dependencies), ...Object.keys(options.extra)];
  while (todo.length) {
    const name = todo.pop()!;
    const at = `node_modules/${name}`;
    if (packages[at]) continue;
    const entry = repo.packages[at];
    if (!entry?.version || entry.link) throw new Error(`${name} is not an installed npm package of the monorepo`);
    const { dev: _d, devOptional: _o, peer: _p, ...kept } = entry;
    packages[at] = kept;
    for (const dep of Object.keys({ ...entry.dependencies, ...(entry.optionalDependencies as object) })) {
      if (repo.packages[`node_modules/${name}/node_modules/${dep}`]) {
        throw new Error(`${name} has its own copy of ${dep}; nested copies are not handled`);
      }
      if (repo.packages[`node_modules/${dep}`]) todo.push(dep);
      else if (!(entry.optionalDependencies as Record<string, string> | undefined)?.[dep]) {
        throw new Error(`${dep} (needed by ${name}) is not in the monorepo's lockfile`);
      }
    }
  }
  const dependencies = { [options.client.name]: `file:${options.tarballName}`, ...options.extra };
  packages[`node_modules/${options.client.name}`] = {
    version: options.client.version,
    resolved: `file:${options.tarballName}`,
    integrity,
    dependencies: options.client.dependencies,
  };
  const lock = {
    name: 'consumer',
    lockfileVersion: 3,
    requires: true,
    packages: { '': { name: 'consumer', dependencies }, ...packages },
  };
  return { lock, dependencies };
}
