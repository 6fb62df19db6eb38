import type { RedisClient } from '@fleet/queues';

/**
 * Operators cancel an active job from anywhere (CLI, control plane) by publishing on this channel;
 * the worker process running the job aborts its AbortSignal. Waiting jobs are simply removed by
 * the operator's tool and need no message.
 */
export function cancelChannel(prefix: string): string {
  return `${prefix}:fleet:cancel`;
}

export interface CancelMessage {
  queue: string;
  jobId: string;
  reason?: string;
}

/** Subscribes `subscriber` (a dedicated connection) and calls `onCancel` for each message. */
export async function listenForCancels(
  subscriber: RedisClient,
  prefix: string,
  onCancel: (message: CancelMessage) => void,
): Promise<void> {
  const channel = cancelChannel(prefix);
  subscriber.on('message', (ch: string, text: string) => {
    if (ch !== channel) return;
    try {
      const msg = JSON.parse(text) as CancelMessage;
      if (typeof msg.queue === 'string' && typeof msg.jobId === 'string') onCancel(msg);
    } catch {
      // not ours; ignore
    }
  });
  await subscriber.subscribe(channel);
}

/** Publishes a cancel request; resolves to the number of processes that received it. */
export function publishCancel(publisher: RedisClient, prefix: string, message: CancelMessage): Promise<number> {
  return publisher.publish(cancelChannel(prefix), JSON.stringify(message));
}
