/** When process mode restarts a process that exited on its own, and when it stops trying. */
import { backoffDelayMs } from '@fleet/runtime';

/**
 * Restart delays of a crashing process: 1 s, 2 s, 4 s … capped at 30 s. The fleet's backoff
 * without jitter: one supervisor restarts its own processes, so there is no herd to spread.
 */
export function restartDelay(consecutiveCrashes: number, baseMs = 1_000, maxMs = 30_000): number {
  return backoffDelayMs(consecutiveCrashes - 1, { baseDelayMs: baseMs, maxDelayMs: maxMs }, () => 1);
}

/** A process that ran this long before exiting was healthy; its next crash starts over at 1 s. */
export const STABLE_AFTER_MS = 30_000;

/**
 * Exit codes that a restart cannot fix: 78 is a bad configuration (the message lists the
 * variables), 2 a bad command (unknown agent). Process mode stops restarting and says so.
 */
export const PERMANENT_EXIT_CODES = new Set([2, 78]);
