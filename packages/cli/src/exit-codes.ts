/**
 * Exit codes of the `fleet` command. Scripts can rely on them; they follow sysexits(3) where a
 * code fits, so `65`/`69`/`78` mean the same here as in other Unix tools.
 */
export const ExitCode = {
  /** Done. */
  ok: 0,
  /** The operation ran and failed (a migration error, a fleet that could not start). */
  failure: 1,
  /** Bad command line: unknown command or option, missing or malformed argument. */
  usage: 2,
  /** The task, job or queue named does not exist. */
  notFound: 3,
  /** The request is valid but the target's state does not allow it (retry a completed task). */
  conflict: 4,
  /** The job payload does not match its schema (EX_DATAERR). */
  invalidPayload: 65,
  /** Postgres or Redis could not be reached (EX_UNAVAILABLE). */
  unavailable: 69,
  /** The environment is invalid (EX_CONFIG), e.g. a malformed DATABASE_URL. */
  config: 78,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The table printed at the end of `fleet --help`. */
export const EXIT_CODE_HELP = `Exit codes:
  0   success
  1   the operation failed
  2   usage error (unknown command, bad option or argument)
  3   not found (task, job or queue)
  4   not allowed in the current state (e.g. retry of a completed task)
  65  invalid job payload
  69  Postgres or Redis unreachable
  78  invalid configuration (environment variables)`;
