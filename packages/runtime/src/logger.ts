import pino, { type Logger } from 'pino';

import type { Scrubber } from './secrets.ts';

export interface LoggerOptions {
  level: string;
  /** Human-readable output (pino-pretty); JSON otherwise. */
  pretty: boolean;
  scrub: Scrubber;
  base?: Record<string, unknown>;
  /** Where JSON lines go (default stdout); tests capture them. Ignored when pretty. */
  destination?: pino.DestinationStream;
}

/**
 * The process's root logger: NDJSON for collectors, pino-pretty in a terminal. Every argument
 * of every call goes through the scrubber, so secrets never reach the output whatever the
 * caller passes (objects, errors, messages).
 */
export function createLogger(options: LoggerOptions): Logger {
  const { scrub } = options;
  return pino(
    {
      level: options.level,
      base: { pid: process.pid, ...options.base },
      serializers: {
        err: (e: Error) => pino.stdSerializers.err(scrub(e)),
      },
      hooks: {
        logMethod(args, method) {
          // biome-ignore lint/suspicious/noExplicitAny: pino's variadic log signature
          method.apply(this, args.map((a) => scrub(a)) as any);
        },
      },
      ...(options.pretty
        ? {
            // One line per event in a terminal too: without singleLine every field is a line of its own.
            transport: {
              target: 'pino-pretty',
              options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', singleLine: true },
            },
          }
        : {}),
    },
    options.pretty ? undefined : options.destination,
  );
}
