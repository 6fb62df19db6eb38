/**
 * Least privilege as the running containers show it: per service, the uid, effective
 * capabilities and no_new_privs of every process, a read-only root; which containers hold each
 * secret in their environment; which database role each process logged in as.
 */
import type { ComposeProject } from './compose.ts';
import { type Engine, inspect, projectContainers, serviceOf } from './engine.ts';
import { psqlJson } from './fixtures.ts';

// One line per process other than this probe's own shell: name uid capeff nnp
const PROCESS_SCRIPT = `for d in /proc/[0-9]*; do
  [ -r $d/status ] || continue
  [ "\${d#/proc/}" = "$$" ] && continue
  n=$(sed -n 's/^Name:\\t//p' $d/status); u=$(sed -n 's/^Uid:\\t\\([0-9]*\\).*/\\1/p' $d/status)
  c=$(sed -n 's/^CapEff:\\t//p' $d/status); p=$(sed -n 's/^NoNewPrivs:\\t//p' $d/status)
  case "$n" in sed|sh) continue;; esac
  echo "$n $u $c $p"
done
if touch /.compose-test-probe 2>/dev/null; then echo "ROOT writable"; else echo "ROOT read-only"; fi`;

export interface ServiceHardening {
  service: string;
  processes: { name: string; uid: number; capEff: string; noNewPrivs: string }[];
  readonlyRootfs: boolean;
  rootWritable: boolean;
}

export async function hardeningOf(compose: ComposeProject, engine: Engine, project: string) {
  const results: ServiceHardening[] = [];
  for (const c of await projectContainers(engine, project)) {
    if (c.State !== 'running') continue;
    const service = serviceOf(c);
    const info = await inspect(engine, c.Id);
    const { stdout } = await compose.run(['exec', '-T', service, 'sh', '-c', PROCESS_SCRIPT], { timeoutMs: 60_000 });
    const lines = stdout.trim().split('\n');
    results.push({
      service,
      processes: lines
        .filter((l) => !l.startsWith('ROOT '))
        .map((l) => {
          const [name, uid, capEff, noNewPrivs] = l.split(' ');
          return { name: name!, uid: Number(uid), capEff: capEff!, noNewPrivs: noNewPrivs! };
        }),
      readonlyRootfs: info.HostConfig.ReadonlyRootfs,
      rootWritable: lines.includes('ROOT writable'),
    });
  }
  return results.sort((a, b) => a.service.localeCompare(b.service));
}

/** Problems in the hardening table: root processes, capabilities, privilege gain, a writable root. */
export function hardeningProblems(rows: ServiceHardening[]): string[] {
  const problems: string[] = [];
  for (const r of rows) {
    if (r.processes.length === 0) problems.push(`${r.service}: no process seen`);
    for (const p of r.processes) {
      if (p.uid === 0) problems.push(`${r.service}: ${p.name} runs as root`);
      if (!/^0+$/.test(p.capEff)) problems.push(`${r.service}: ${p.name} has capabilities ${p.capEff}`);
      if (p.noNewPrivs !== '1')
        problems.push(`${r.service}: ${p.name} may gain privileges (NoNewPrivs ${p.noNewPrivs})`);
    }
    if (!r.readonlyRootfs || r.rootWritable) problems.push(`${r.service}: root file system is writable`);
  }
  return problems;
}

export function formatHardening(rows: ServiceHardening[]): string {
  const w = Math.max(...rows.map((r) => r.service.length));
  return rows
    .map((r) => {
      const counts = new Map<string, number>();
      for (const p of r.processes) {
        const key = `${p.name}:uid=${p.uid},CapEff=${p.capEff},NoNewPrivs=${p.noNewPrivs}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      const procs = [...counts].map(([key, n]) => (n > 1 ? `${key} (x${n})` : key));
      return `${r.service.padEnd(w)}  read-only=${r.readonlyRootfs && !r.rootWritable}  ${procs.join(' ')}`;
    })
    .join('\n');
}

/**
 * For each secret, the services whose container environment holds its value (exited containers
 * too), compared with the services that are meant to have it.
 */
export async function secretPlacementProblems(
  engine: Engine,
  project: string,
  secrets: Record<string, { value: string; services: string[] }>,
): Promise<{ problems: string[]; placement: Record<string, string[]> }> {
  const envs: { service: string; env: string[] }[] = [];
  for (const c of await projectContainers(engine, project)) {
    envs.push({ service: serviceOf(c), env: (await inspect(engine, c.Id)).Config.Env ?? [] });
  }
  const problems: string[] = [];
  const placement: Record<string, string[]> = {};
  for (const [name, { value, services }] of Object.entries(secrets)) {
    const holders = [
      ...new Set(envs.filter((e) => e.env.some((kv) => kv.includes(value))).map((e) => e.service)),
    ].sort();
    placement[name] = holders;
    const want = [...services].sort();
    if (holders.join(',') !== want.join(','))
      problems.push(`${name} is in ${holders.join(', ') || 'no container'}; expected ${want.join(', ')}`);
  }
  return { problems, placement };
}

/** Who each fleet process is logged in to Postgres as (from pg_stat_activity). */
export async function databaseSessions(compose: ComposeProject): Promise<Record<string, string[]>> {
  const rows = await psqlJson<{ application_name: string; usename: string }[] | null>(
    compose,
    `SELECT json_agg(DISTINCT jsonb_build_object('application_name', application_name, 'usename', usename::text))
     FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name LIKE 'fleet-%';`,
  );
  const byRole: Record<string, string[]> = {};
  for (const r of rows ?? []) byRole[r.usename] = [...(byRole[r.usename] ?? []), r.application_name];
  for (const list of Object.values(byRole)) list.sort();
  return byRole;
}
