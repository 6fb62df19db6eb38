export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Describes what was awaited, for the timeout message. */
  what?: string;
}

/**
 * Polls `check` until it returns a value other than undefined/false, and returns that value.
 * Tests wait on state (rows, job states), never on fixed sleeps; this is the one polling loop.
 */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 25;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const suffix = last ? ` (last error: ${last instanceof Error ? last.message : String(last)})` : '';
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${options.what ?? 'condition'}${suffix}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
