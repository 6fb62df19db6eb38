import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { prefixLines } from './line-prefixer.ts';
import { PERMANENT_EXIT_CODES, restartDelay, STABLE_AFTER_MS } from './restart-policy.ts';

export interface ManagedProcessOptions {
  label: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Probe port of the process; its /healthz tells when a (re)start is up. */
  healthPort?: number;
  /** Output line prefix (already padded and coloured). */
  prefix: string;
  stdout(text: string): void;
  stderr(text: string): void;
  /** The runner's own messages about this process. */
  notice(text: string): void;
  /** Called each time the process answers /healthz after a (re)start. */
  onHealthy?(): void;
  /**
   * Called once each run of the process ended (crash or stop), before a restart is scheduled:
   * the fleet recovers the jobs the dead instance still held.
   */
  onExit?(run: ExitedRun): Promise<void> | void;
  restartBaseMs?: number;
}

/** One run of a managed process that has ended. */
export interface ExitedRun {
  /** The FLEET_INSTANCE_ID it ran with. */
  instanceId: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** "exited with signal SIGKILL", "exited with code 1" */
  how: string;
}

export type ProcessState = 'starting' | 'healthy' | 'backoff' | 'stopping' | 'stopped' | 'gave-up';

/**
 * One supervised child process: restarted with exponential backoff when it exits on its own,
 * stopped with SIGTERM (then SIGKILL after a deadline) when the fleet stops. The child runs in
 * its own process group, so a Ctrl-C in the terminal reaches only the runner, which then stops
 * every child exactly once; otherwise each child would see SIGINT and then SIGTERM, and treat
 * the second signal as "exit now".
 */
export class ManagedProcess {
  state: ProcessState = 'stopped';
  restarts = 0;
  lastExitCode: number | null = null;
  private child: ChildProcess | null = null;
  private crashes = 0;
  private startedAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private exited: Promise<void> = Promise.resolve();
  private healthAbort: AbortController | null = null;
  /** The FLEET_INSTANCE_ID of the current (or last) run; new for every start. */
  instanceId = '';

  constructor(private readonly o: ManagedProcessOptions) {}

  get label(): string {
    return this.o.label;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    this.state = 'starting';
    this.startedAt = Date.now();
    // The probe answers with it, so a healthy answer from another process on the port (another
    // fleet, a leftover child) is never taken for this one.
    const instanceId = `${this.o.label}-${randomBytes(4).toString('hex')}`;
    this.instanceId = instanceId;
    const child = spawn(this.o.command, this.o.args, {
      cwd: this.o.cwd,
      env: { ...this.o.env, FLEET_INSTANCE_ID: instanceId },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child = child;
    const output = Promise.all([
      prefixLines(child.stdout!, this.o.prefix, this.o.stdout),
      prefixLines(child.stderr!, this.o.prefix, this.o.stderr),
    ]);
    this.exited = new Promise((resolve) => {
      child.once('error', (error) => {
        this.o.notice(`could not start: ${error.message}`);
      });
      child.once('close', (code, signal) => {
        void output.then(async () => {
          this.child = null;
          this.healthAbort?.abort();
          const how = signal ? `exited with signal ${signal}` : `exited with code ${code}`;
          try {
            await this.o.onExit?.({ instanceId, code, signal, how });
          } catch (error) {
            this.o.notice(`after it ${how}: ${(error as Error).message}`);
          }
          this.onExit(code, signal);
          resolve();
        });
      });
    });
    if (this.o.healthPort) void this.watchHealth(this.o.healthPort, instanceId);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.lastExitCode = code;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (this.state === 'stopping') {
      this.state = 'stopped';
      this.o.notice(`stopped (${how})`);
      return;
    }
    if (code !== null && PERMANENT_EXIT_CODES.has(code)) {
      this.state = 'gave-up';
      this.o.notice(
        `exited with ${how}: a configuration or command error that a restart cannot fix; not restarting (see the lines above)`,
      );
      return;
    }
    this.crashes = Date.now() - this.startedAt >= STABLE_AFTER_MS ? 1 : this.crashes + 1;
    const delay = restartDelay(this.crashes, this.o.restartBaseMs);
    this.state = 'backoff';
    this.o.notice(`exited with ${how}; restarting in ${delay} ms (crash ${this.crashes} in a row)`);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.restarts++;
      this.start();
    }, delay);
  }

  /** Polls /healthz until this run's own instance answers 200 (once per (re)start). */
  private async watchHealth(port: number, instanceId: string): Promise<void> {
    const abort = new AbortController();
    this.healthAbort = abort;
    while (!abort.signal.aborted && this.state === 'starting') {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) });
        const body = (await res.json().catch(() => ({}))) as { instance?: unknown };
        if (res.ok && body.instance === instanceId && this.state === 'starting' && this.instanceId === instanceId) {
          this.state = 'healthy';
          this.o.onHealthy?.();
          return;
        }
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  private signal(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (!pid) return;
    try {
      // The whole group: the agent and anything it started.
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  }

  /**
   * SIGTERM, then SIGKILL if the process has not exited after `graceMs`. Resolves once it
   * exited (or immediately when it was not running).
   */
  async stop(graceMs: number): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.child) {
      if (this.state !== 'gave-up') this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    this.signal('SIGTERM');
    const killer = setTimeout(() => {
      this.o.notice(`still running ${graceMs} ms after SIGTERM; sending SIGKILL`);
      this.signal('SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(killer);
  }

  /** Immediate SIGKILL (a second Ctrl-C, or the runner exiting abnormally). */
  kill(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.child) {
      this.state = 'stopping';
      this.signal('SIGKILL');
    }
  }
}
