import type { RedisClient } from '@fleet/queues';
import type { Logger } from 'pino';
import { listenForCancels, publishCancel } from './cancel-channel.ts';

/**
 * Cancels that stick. A cancel of a job that is running is recorded as a mark in Redis before
 * the running worker is told through the cancel channel; the mark outlives that worker. Every
 * worker keeps the marks of its queue in memory (loaded at start and on every reconnect, kept
 * current by the channel), and the runtime checks them before it starts any attempt: a job whose
 * worker died and that BullMQ hands out again after its stall is cancelled instead of run.
 *
 * One hash per prefix (so it shares the queues' Redis Cluster slot): field `<queue>\n<job id>`,
 * value `{ reason, at }`. A mark is deleted once the cancelled row is durable; marks nobody
 * honours (the job had finished) are dropped after MARK_TTL_MS.
 */
export function cancelMarksKey(prefix: string): string {
  return `${prefix}:fleet:cancel-marks`;
}

export const MARK_TTL_MS = 7 * 24 * 3_600_000;

const field = (queue: string, jobId: string) => `${queue}\n${jobId}`;

interface StoredMark {
  reason: string;
  at: number;
}

function parseMark(text: string | null | undefined): StoredMark | null {
  if (!text) return null;
  try {
    const mark = JSON.parse(text) as StoredMark;
    return typeof mark.reason === 'string' && typeof mark.at === 'number' ? mark : null;
  } catch {
    return null;
  }
}

/**
 * Records a cancel of `jobId` and tells the workers. Resolves to the number of processes that
 * heard it (0 when none listens; the mark still takes effect when a worker starts).
 */
export async function markCancelled(
  redis: RedisClient,
  prefix: string,
  mark: { queue: string; jobId: string; reason: string },
): Promise<number> {
  await redis.hset(
    cancelMarksKey(prefix),
    field(mark.queue, mark.jobId),
    JSON.stringify({ reason: mark.reason, at: Date.now() }),
  );
  return publishCancel(redis, prefix, mark);
}

/** The reason of a live cancel mark of `jobId`, or null. */
export async function readCancelMark(
  redis: RedisClient,
  prefix: string,
  queue: string,
  jobId: string,
): Promise<string | null> {
  const mark = parseMark(await redis.hget(cancelMarksKey(prefix), field(queue, jobId)));
  return mark && Date.now() - mark.at < MARK_TTL_MS ? mark.reason : null;
}

/** Deletes the mark of `jobId` (it was honoured, or the job is being retried on purpose). */
export async function clearCancelMark(redis: RedisClient, prefix: string, queue: string, jobId: string): Promise<void> {
  await redis.hdel(cancelMarksKey(prefix), field(queue, jobId));
}

/** A worker's view of the marks of its queue. */
export interface CancelMarks {
  /** The cancel reason recorded for `jobId`, or undefined. Synchronous: no Redis round trip. */
  reasonFor(jobId: string): string | undefined;
  /** The cancelled row is durable: forget the mark, here and in Redis. */
  honoured(jobId: string): void;
  /**
   * Subscribes to the cancel channel, then loads the stored marks, so a cancel recorded while the
   * worker starts is either in what it loads or in a message it receives. Call before the worker
   * takes jobs. `onCancel` aborts the job if it runs in this process.
   */
  listen(subscriber: RedisClient, onCancel: (jobId: string, reason: string) => void): Promise<void>;
}

export interface CancelMarksOptions {
  /** A command connection (reads and deletes marks). */
  redis: RedisClient;
  prefix: string;
  queue: string;
  log: Logger;
}

export function createCancelMarks(o: CancelMarksOptions): CancelMarks {
  const marks = new Map<string, string>();
  const key = cancelMarksKey(o.prefix);
  const own = `${o.queue}\n`;

  async function reload(): Promise<void> {
    const all = await o.redis.hgetall(key);
    const stale: string[] = [];
    const now = Date.now();
    for (const [name, text] of Object.entries(all)) {
      const mark = parseMark(text);
      if (!mark || now - mark.at >= MARK_TTL_MS) stale.push(name);
      else if (name.startsWith(own)) marks.set(name.slice(own.length), mark.reason);
    }
    if (stale.length > 0) await o.redis.hdel(key, ...stale);
  }

  return {
    reasonFor: (jobId) => marks.get(jobId),
    honoured(jobId) {
      marks.delete(jobId);
      clearCancelMark(o.redis, o.prefix, o.queue, jobId).catch((err) =>
        o.log.warn({ err, jobId }, 'cancel mark not deleted; it expires on its own'),
      );
    },
    async listen(subscriber, onCancel) {
      await listenForCancels(subscriber, o.prefix, ({ queue, jobId, reason }) => {
        if (queue !== o.queue) return;
        const why = reason ?? 'cancelled by an operator';
        marks.set(jobId, why);
        onCancel(jobId, why);
      });
      await reload();
      // The subscriber is connected by now (subscribe() waited for it), so each later 'ready' is
      // a reconnect. Messages published while it was away are lost: read the marks again.
      subscriber.on('ready', () => {
        reload().catch((err) => o.log.warn({ err }, 'cancel marks not reloaded after a reconnect'));
      });
    },
  };
}
