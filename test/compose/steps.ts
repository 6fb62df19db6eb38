/** Named, timed steps and the summary table `npm run test:compose` ends with. */

export interface StepRecord {
  name: string;
  ok: boolean;
  seconds: number;
  note: string;
}

export class StepFailed extends Error {
  override name = 'StepFailed';
}

export function createSteps(log: (line: string) => void) {
  const records: StepRecord[] = [];
  const started = Date.now();
  return {
    records,
    /** Runs `fn`; its string result is the step's note. A throw marks the step failed and rethrows. */
    async run<T>(name: string, fn: () => Promise<T>, note?: (value: T) => string): Promise<T> {
      const t0 = Date.now();
      log(`\n[test:compose ${new Date().toISOString().slice(11, 19)}] ${name}`);
      try {
        const value = await fn();
        const text = note ? note(value) : typeof value === 'string' ? value : '';
        records.push({ name, ok: true, seconds: (Date.now() - t0) / 1000, note: text });
        log(`[test:compose] ${name}: PASS (${((Date.now() - t0) / 1000).toFixed(1)} s) ${text}`);
        return value;
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        records.push({ name, ok: false, seconds: (Date.now() - t0) / 1000, note: text.split('\n')[0]! });
        log(`[test:compose] ${name}: FAIL\n${text}`);
        throw new StepFailed(`${name}: ${text}`, { cause: error });
      }
    },
    summary(): string {
      const w = Math.max(...records.map((r) => r.name.length), 4);
      const lines = records.map(
        (r) =>
          `${r.name.padEnd(w)}  ${r.ok ? 'PASS' : 'FAIL'}  ${r.seconds.toFixed(1).padStart(6)} s  ${r.note.slice(0, 110)}`,
      );
      const ok = records.every((r) => r.ok);
      lines.push(
        `${'total'.padEnd(w)}  ${ok ? 'PASS' : 'FAIL'}  ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s`,
      );
      return lines.join('\n');
    },
  };
}
