import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

const COLOURS = [36, 33, 32, 35, 34, 31, 96, 93, 92, 95, 94, 91];

/** A label padded to `width`, coloured (by its index) when the output is a terminal. */
export function formatLabel(label: string, index: number, width: number, colour: boolean): string {
  const padded = label.padEnd(width);
  return colour ? `\u001b[${COLOURS[index % COLOURS.length]}m${padded} |\u001b[0m` : `${padded} |`;
}

/** Forwards each line of `stream` to `write` with `prefix` in front, as docker compose does. */
export function prefixLines(stream: Readable, prefix: string, write: (text: string) => void): Promise<void> {
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  lines.on('line', (line) => write(`${prefix} ${line}\n`));
  return new Promise((resolve) => lines.once('close', () => resolve()));
}
