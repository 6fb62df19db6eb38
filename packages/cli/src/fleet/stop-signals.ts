/**
 * How the process-mode runner reads stop signals. One Ctrl-C often arrives more than once in the
 * same instant: the terminal signals the whole foreground process group, and wrappers such as
 * `npm run` and tsx relay the signal to their child as well (tsx when its child does not
 * acknowledge within 30 ms, which a busy runner does not). So every signal within `pauseMs` of
 * the first is the same request to stop gracefully; only a deliberate second one after a pause
 * forces the stop. SIGHUP (the terminal went away) stops gracefully too: the children run in
 * their own process groups and would otherwise be left behind.
 */
export interface StopSignalsOptions {
  /** The first signal, or a programmatic request: stop every process gracefully. */
  stop(reason: string): void;
  /** A signal at least `pauseMs` after the first: kill everything now. */
  kill(signal: NodeJS.Signals): void;
  /** A copy of the first signal (or an impatient repeat) inside the pause; ignored. */
  repeated?(signal: NodeJS.Signals, msAfterFirst: number): void;
  pauseMs?: number;
  signals?: NodeJS.Signals[];
  /** The clock (tests). */
  now?: () => number;
}

export interface StopSignals {
  /** True once a stop was requested. */
  readonly stopping: boolean;
  /** Requests a graceful stop without a signal (a test, every process gave up). */
  request(reason: string): void;
  /** Removes the signal handlers. */
  dispose(): void;
}

/** A second signal this long after the first forces the stop. */
export const FORCE_AFTER_MS = 1_000;

export function createStopSignals(o: StopSignalsOptions): StopSignals {
  const pauseMs = o.pauseMs ?? FORCE_AFTER_MS;
  const signals = o.signals ?? ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const clock = o.now ?? Date.now;
  let firstAt: number | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    const now = clock();
    if (firstAt === null) {
      firstAt = now;
      o.stop(signal);
    } else if (now - firstAt < pauseMs) {
      o.repeated?.(signal, now - firstAt);
    } else {
      o.kill(signal);
    }
  };
  for (const s of signals) process.on(s, onSignal);
  return {
    get stopping() {
      return firstAt !== null;
    },
    request(reason) {
      if (firstAt !== null) return;
      firstAt = clock();
      o.stop(reason);
    },
    dispose() {
      for (const s of signals) process.off(s, onSignal);
    },
  };
}
