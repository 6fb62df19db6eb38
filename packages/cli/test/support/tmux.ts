/**
 * A real pseudo-terminal for signal tests: a private tmux server runs the command in a pane, the
 * test types keys into it (`send-keys C-c` is what a person's Ctrl-C does: the terminal sends
 * SIGINT to the foreground process group) and reads what the pane printed.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TmuxPane {
  /** Everything the pane printed so far. */
  output(): string;
  sendKeys(...keys: string[]): void;
  /** Pid of the pane's shell (bash, whose child is the command). */
  pid(): number;
  /** null while the command runs; its exit status once it ended normally. */
  exitStatus(): number | null;
  close(): void;
}

const EXIT = /\[pane exit (\d+)\]/;

/**
 * Runs `command` in a new pane through bash, which prints the command's exit status when it
 * ends: tmux itself is slow to notice a pane's process ending when that process led the pane's
 * session. (bash lets a command that handles Ctrl-C finish and reports its status; a command
 * killed by the signal takes bash with it, and no status is printed.)
 */
export function openPane(command: string, o: { cwd: string; env: Record<string, string | undefined> }): TmuxPane {
  const socket = `fleet-test-${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'fleet-pty-'));
  const log = join(dir, 'pane.log');
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  const env = Object.entries(o.env).flatMap(([k, v]) => (v === undefined ? [] : ['-e', `${k}=${v}`]));
  // The pane starts idle so that its output is captured from the command's first byte.
  tmux(
    '-f',
    '/dev/null',
    'new-session',
    '-d',
    '-s',
    'fleet',
    '-x',
    '220',
    '-y',
    '50',
    '-c',
    o.cwd,
    ...env,
    'sleep 600',
  );
  tmux('set-option', '-t', 'fleet', 'remain-on-exit', 'on');
  tmux('pipe-pane', '-t', 'fleet', '-o', `cat >> ${log}`);
  tmux('respawn-pane', '-k', '-t', 'fleet', '-c', o.cwd, ...env, `bash -c '${command}; echo "[pane exit $?]"'`);
  const output = () => {
    try {
      return readFileSync(log, 'utf8');
    } catch {
      return '';
    }
  };
  return {
    output,
    sendKeys: (...keys) => void tmux('send-keys', '-t', 'fleet', ...keys),
    pid: () => Number(tmux('display', '-p', '-t', 'fleet', '#{pane_pid}').trim()),
    exitStatus: () => {
      const m = EXIT.exec(output());
      return m ? Number(m[1]) : null;
    },
    close: () => {
      try {
        tmux('kill-server');
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
