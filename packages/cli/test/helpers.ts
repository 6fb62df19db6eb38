import type { CliIO } from '../src/context.ts';

export interface CapturedIO extends CliIO {
  out: string;
  err: string;
}

/** An IO that records what the CLI prints (and feeds `stdin` to `--data @-`). */
export function captureIO(stdin = ''): CapturedIO {
  const io: CapturedIO = {
    out: '',
    err: '',
    stdout: (text) => {
      io.out += text;
    },
    stderr: (text) => {
      io.err += text;
    },
    readStdin: async () => stdin,
    isTTY: false,
  };
  return io;
}
