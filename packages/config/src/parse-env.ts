import type { z } from 'zod';

/** Thrown by {@link parseEnv}; `problems` has one line per bad variable. */
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

/** The exit code of every fleet process whose configuration is wrong (sysexits EX_CONFIG). */
export const CONFIG_EXIT_CODE = 78;

/** Variables whose values are secrets, or may carry them: their values never appear in messages. */
const SECRET_NAME = /PASSW(OR)?D|SECRET|TOKEN|CREDENTIAL|PRIVATE|(^|_)KEY$|API_KEY|_KEY_/i;
const MAX_SHOWN = 60;

/**
 * How a bad value is quoted in a message: `'abc'`. Values of secret variables are left out, and
 * credentials inside URLs are masked, so the message is safe to print into container logs.
 */
export function shownValue(variable: string, value: string): string | null {
  if (SECRET_NAME.test(variable)) return null;
  let text = value;
  if (/_URL$/i.test(variable) || value.includes('@')) {
    // Connection strings carry passwords: shown only when they parse as scheme://host..., with
    // the password masked.
    const url = URL.canParse(value) ? new URL(value) : null;
    if (!url?.host) return null;
    if (url.password) url.password = '***';
    text = url.toString();
  }
  if (text.length > MAX_SHOWN) text = `${text.slice(0, MAX_SHOWN - 1)}…`;
  return `'${text}'`;
}

/**
 * Parses `env` with `schema` and returns the typed result, or throws a ConfigError listing every
 * problem at once. Each line names the variable, says what is expected and, unless the variable
 * holds a secret, what it got: `INTELLIGENCE_MONTHLY_BUDGET_USD: must be a number, got 'abc'`.
 */
export function parseEnv<S extends z.ZodType>(
  service: string,
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.output<S> {
  // `VAR=` in an env file means "not set": defaults apply, required ones are reported missing.
  const present: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value !== '') present[name] = value;
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.length > 0 ? issue.path.join('.') : '(environment)';
    const variable = typeof issue.path[0] === 'string' ? issue.path[0] : undefined;
    const raw = variable === undefined ? undefined : present[variable];
    // zod does not keep the input in its issues; whether the variable was set decides the wording.
    if (raw === undefined) {
      return issue.code === 'invalid_type' ? `${name}: is required but not set` : `${name}: ${issue.message}`;
    }
    const shown = issue.path.length === 1 ? shownValue(variable!, raw) : null;
    return `${name}: ${issue.message}${shown ? `, got ${shown}` : ''}`;
  });
  throw new ConfigError(service, problems);
}

/**
 * Parses config in a process's main(); on failure prints the one message and exits with 78
 * (EX_CONFIG), so a container restart loop shows the reason in its logs and the process-mode
 * supervisor does not restart it.
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
      process.exit(CONFIG_EXIT_CODE);
    }
    throw error;
  }
}
