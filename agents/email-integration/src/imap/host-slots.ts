/**
 * At most `limit` IMAP connections per server host from this process: servers cap connections
 * per user and IP (Dovecot's mail_max_userip_connections defaults to 10, Gmail allows 15 per
 * account), and several jobs of one provider's accounts would otherwise crowd its server.
 */
export class HostSlots {
  private readonly inUse = new Map<string, number>();
  private readonly waiting = new Map<string, Array<() => void>>();

  constructor(private readonly limit: number) {}

  /** Waits for a slot on `host` (or the signal); resolves to the function that gives it back. */
  async acquire(host: string, signal?: AbortSignal): Promise<() => void> {
    const key = host.toLowerCase();
    while ((this.inUse.get(key) ?? 0) >= this.limit) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const queue = this.waiting.get(key) ?? [];
        const onAbort = () => {
          queue.splice(queue.indexOf(wake), 1);
          reject(signal?.reason);
        };
        const wake = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        queue.push(wake);
        this.waiting.set(key, queue);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
    this.inUse.set(key, (this.inUse.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse.set(key, (this.inUse.get(key) ?? 1) - 1);
      this.waiting.get(key)?.shift()?.();
    };
  }

  /** Connections open to `host` now. */
  count(host: string): number {
    return this.inUse.get(host.toLowerCase()) ?? 0;
  }
}
