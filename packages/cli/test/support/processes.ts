/** Finding the processes of a fleet under test, by walking the process tree from its root. */

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

interface Proc {
  pid: number;
  ppid: number;
  args: string;
}

function table(): Proc[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
}

/** Every process below `root` (children, grandchildren, …). */
export function descendants(root: number): Proc[] {
  const all = table();
  const found: Proc[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const p of all) {
      if (p.ppid !== parent) continue;
      found.push(p);
      queue.push(p.pid);
    }
  }
  return found;
}

/** The FLEET_PROCESS label a process of a fleet runs as (from its environment), or undefined. */
export function fleetLabel(pid: number): string | undefined {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return env.find((e) => e.startsWith('FLEET_PROCESS='))?.slice('FLEET_PROCESS='.length);
  } catch {
    return undefined;
  }
}

/** The pid of the Node process of `label` under `root`, once it runs. */
export function agentPid(root: number, label: string): number | undefined {
  return descendants(root).find((p) => /\/src\/main\.ts/.test(p.args) && fleetLabel(p.pid) === label)?.pid;
}
