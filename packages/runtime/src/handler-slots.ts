/**
 * The handler slots of one worker: a FIFO semaphore that bounds how many handlers run at once
 * (WORKER_CONCURRENCY). BullMQ is allowed to hold more jobs than that (the acknowledgement
 * window, ack-window.ts), so a job whose handler has finished gives its slot to the next job while
 * it waits for its audit row to commit.
 */
export interface HandlerSlots {
  /** Takes a slot at once if one is free and nobody waits for one; null otherwise. */
  tryAcquire(): Release | null;
  /** Waits for a slot, in arrival order; rejects with the signal's reason if it aborts first. */
  acquire(signal?: AbortSignal): Promise<Release>;
  /**
   * From now on no job waits for a slot: every waiter, and every later acquire() that would wait,
   * rejects with `reason` (a stopping worker hands such jobs back; running ones keep their slots).
   */
  close(reason: unknown): void;
  /** Slots free now. */
  readonly free: number;
}

/** Gives a slot back; calling it again does nothing. */
export type Release = () => void;

interface Waiter {
  grant(release: Release): void;
  refuse(reason: unknown): void;
}

export function createHandlerSlots(size: number): HandlerSlots {
  if (!Number.isInteger(size) || size < 1) throw new Error(`handler slots must be a positive integer, got ${size}`);
  let free = size;
  const waiters: Waiter[] = [];
  let closed: { reason: unknown } | null = null;

  function releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // Hand the slot straight to the longest waiter, so a burst of arrivals cannot overtake it.
      const next = waiters.shift();
      if (next) next.grant(releaser());
      else free++;
    };
  }

  return {
    tryAcquire() {
      if (free === 0 || waiters.length > 0) return null;
      free--;
      return releaser();
    },
    acquire(signal) {
      const now = this.tryAcquire();
      if (now) return Promise.resolve(now);
      return new Promise<Release>((resolve, reject) => {
        if (closed) {
          reject(closed.reason);
          return;
        }
        if (signal?.aborted) {
          reject(signal.reason);
          return;
        }
        const onAbort = () => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          reject(signal!.reason);
        };
        const waiter: Waiter = {
          grant(release) {
            signal?.removeEventListener('abort', onAbort);
            resolve(release);
          },
          refuse(reason) {
            signal?.removeEventListener('abort', onAbort);
            reject(reason);
          },
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        waiters.push(waiter);
      });
    },
    close(reason) {
      closed = { reason };
      for (const waiter of waiters.splice(0)) waiter.refuse(reason);
    },
    get free() {
      return free;
    },
  };
}
