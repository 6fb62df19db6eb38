/**
 * Builds the publishable client: one ES module (esbuild) and declarations (tsc). The fleet's own
 * packages are TypeScript sources inside the monorepo, so both are bundled in: esbuild inlines
 * their code, tsc emits their declarations under dist/types/<package>/, and their `@fleet/<name>`
 * specifiers are rewritten to relative paths. npm packages stay imports, resolved by the
 * installing project's npm from the client's dependencies.
 */
import { execFileSync } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(await readFile(join(here, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
const dist = join(here, 'dist');
await rm(dist, { recursive: true, force: true });

await build({
  entryPoints: [join(here, 'src/index.ts')],
  outfile: join(dist, 'index.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Everything from npm stays external (and must be a dependency); only @fleet/* is bundled.
  external: Object.keys(pkg.dependencies).flatMap((d) => [d, `${d}/*`]),
  logLevel: 'warning',
});

const tsc = join(here, '../../node_modules/typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.build.json')], { stdio: 'inherit' });

const types = join(dist, 'types');
async function* files(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.name.endsWith('.d.ts')) yield path;
  }
}
for await (const file of files(types)) {
  const text = await readFile(file, 'utf8');
  const fixed = text
    .replace(/(from |import\()(['"])@fleet\/([\w-]+)\2/g, (_m, kw: string, q: string, name: string) => {
      const target = relative(dirname(file), join(types, name, 'src/index.js'));
      return `${kw}${q}${target.startsWith('.') ? target : `./${target}`}${q}`;
    })
    .replace(/(from |import\()(['"])(\.{1,2}\/[^'"]+)\.ts\2/g, '$1$2$3.js$2');
  if (fixed !== text) await writeFile(file, fixed);
}
await writeFile(join(dist, 'index.d.ts'), "export * from './types/client/src/index.js';\n");

const bundle = await readFile(join(dist, 'index.js'), 'utf8');
const leftover = [...bundle.matchAll(/from ["'](@fleet\/[^"']+)["']/g)].map((m) => m[1]);
if (leftover.length) throw new Error(`the bundle still imports ${leftover.join(', ')}`);
