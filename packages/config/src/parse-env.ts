import type { z } from 'zod';

/** Thrown by {@link parseEnv}; `problems` has one line per bad variable, without its value. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly service: string,
    readonly problems: string[],
  ) {
    super(
      `${service}: invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nSet these variables in the environment or the .env file (see .env.example).',
    );
  }
}

/**
 * Parses `env` with `schema` and returns the typed result, or throws a ConfigError listing every
 * problem at once. Messages name the variable and what is expected, never the value, because the
 * value may be a secret.
 */
export function parseEnv<S extends z.ZodType>(
  service: string,
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.output<S> {
  // `VAR=` in an env file means "not set": defaults apply, required ones are reported missing.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.length > 0 ? issue.path.join('.') : '(environment)';
    const message =
      issue.code === 'invalid_type' && issue.input === undefined ? 'is required but not set' : issue.message;
    return `${name}: ${message}`;
  });
  throw new ConfigError(service, problems);
}

/**
 * Parses config in a process's main(); on failure prints the one message and exits with 78
 * (EX_CONFIG), so a container restart loop shows the reason in its logs.
 */
export function loadEnvOrExit<S extends z.ZodType>(
  service: string,
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.output<S> {
  try {
    return parseEnv(service, schema, env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
}
