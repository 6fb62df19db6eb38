/**
 * Scrubbing of secrets from anything that leaves the process: log lines, audit rows, BullMQ job
 * fields. Secrets come from three places, and each has its net:
 *  - the environment: the values of secret variables, known at start (`secretValuesFromEnv`);
 *  - run time: values decrypted or fetched while a job runs (OAuth tokens, passwords), registered
 *    through a {@link SecretScope} for as long as the job runs;
 *  - provider answers, which may echo credentials the process never knew as literal values: any
 *    credential-shaped text is redacted (`redactCredentials`): `name=value` parameters, JSON
 *    members and headers whose name says secret, `Bearer` tokens, passwords in URLs.
 * Literal values are also matched URL-encoded, form-encoded and base64-encoded, the forms in which
 * a request carries them and an error may echo them.
 */

/** Names that say "secret": `token` but not `tokens`/`input_tokens` (usage counts are data). */
const SECRET_NAME =
  /passw(or)?d|passphrase|^pass$|secret|token(?!s)|api[-_]?key|authorization|cookie|credential|private[-_]?key/i;
/** Query parameters that carry credentials besides those: signed URLs' signatures, API keys. */
const SECRET_PARAMETER = new RegExp(`${SECRET_NAME.source}|signature|^sig$|^key$`, 'i');
/** Header-style names whose value is a credential, as they appear in text (`x-api-key: ...`). */
const CREDENTIAL_HEADER =
  /\b(proxy-authorization|authorization|x-api-key|api-key|x-goog-api-key|x-auth-token|cookie|set-cookie)(\s*[:=]\s*)((?:(?:Bearer|Basic|Token|Digest)\s+)?(?:\[redacted\]|[^\s,;"'}\]]+))/gi;
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)([^\s:@/]+):([^\s@/]+)@/gi;
/** `name=value` in query strings, form bodies and messages; the value ends at a delimiter. */
const PARAMETER = /([\w.[\]-]+)(=|%3D)([^&\s"'<>,;)}\]]+)/gi;
/** `"name": "value"` in JSON text. */
const JSON_MEMBER = /"([\w.-]+)"(\s*:\s*)"((?:[^"\\]|\\.)*)"/g;
/** A bearer token anywhere (tokens have digits or punctuation; plain words are left alone). */
const BEARER = /\b(Bearer)(\s+)(?=[^\s]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,}/g;
/** Cheap test: could this text hold anything the patterns above redact? */
const CREDENTIAL_HINT = new RegExp(`${SECRET_NAME.source}|bearer|://`, 'i');
/**
 * Words that may be base64 of something longer that holds a secret: `Basic` credentials
 * (`user:password`), SASL PLAIN (`\0user\0password`), an encoded form body. Hex-only words
 * (UUIDs, digests) cannot be: base64 of text always has letters beyond a-f.
 */
const BASE64_WORD = /[A-Za-z0-9+/_-]{8,}={0,2}/g;
const HEX_WORD = /^[0-9a-fA-F-]+$/;
/** Shorter values are too likely to occur by chance (and too weak to be real secrets). */
const MIN_SECRET_LENGTH = 6;

export const REDACTED = '[redacted]';

/**
 * Redacts credential-shaped parts of a text: passwords in URLs, secret-named `name=value`
 * parameters and JSON members, credential headers and bearer tokens. Provider code runs what it
 * copies from an answer into an error through this; the scrubber applies it to every string.
 */
export function redactCredentials(text: string): string {
  if (!CREDENTIAL_HINT.test(text)) return text;
  return text
    .replace(URL_CREDENTIALS, `$1$2:${REDACTED}@`)
    .replace(CREDENTIAL_HEADER, `$1$2${REDACTED}`)
    .replace(BEARER, `$1$2${REDACTED}`)
    .replace(PARAMETER, (all, name: string, eq: string, value: string) =>
      SECRET_PARAMETER.test(safeDecode(name)) && !value.startsWith('[redacted') ? `${name}${eq}${REDACTED}` : all,
    )
    .replace(JSON_MEMBER, (all, name: string, colon: string) =>
      SECRET_NAME.test(name) ? `"${name}"${colon}"${REDACTED}"` : all,
    );
}

/**
 * A provider's text made fit for an error message: the credentials the request carried (`sent`,
 * in any of their encodings) and anything credential-shaped redacted, whitespace collapsed, and
 * cut to `max` characters at a delimiter, never inside a word. A secret cut in half would no
 * longer be recognised by the scrubber, and half a key is still a leak.
 */
export function providerExcerpt(
  text: string,
  options: { max?: number; sent?: ReadonlyArray<string | undefined> } = {},
): string {
  const max = options.max ?? 300;
  let clean = text.replace(/\s+/g, ' ').trim();
  for (const form of (options.sent ?? []).flatMap((v) => (v ? secretVariants(v) : []))) {
    clean = clean.split(form).join(REDACTED);
  }
  clean = redactCredentials(clean);
  if (clean.length <= max) return clean;
  const head = clean.slice(0, max + 1);
  const cut = Math.max(...[...' ",;{}[]()<>'].map((c) => head.lastIndexOf(c)));
  return `${cut > 0 ? clean.slice(0, cut) : ''}…`;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The forms a secret takes on the wire: raw, URL- and form-encoded, base64 and base64url. */
export function secretVariants(value: string): string[] {
  const forms = [
    value,
    encodeURIComponent(value),
    new URLSearchParams({ v: value }).toString().slice(2),
    Buffer.from(value, 'utf8').toString('base64'),
    Buffer.from(value, 'utf8').toString('base64url'),
    JSON.stringify(value).slice(1, -1),
  ];
  return [...new Set(forms)].filter((f) => f.length >= MIN_SECRET_LENGTH);
}

/** Env variables whose values are secrets or contain them. */
export function secretValuesFromEnv(env: NodeJS.ProcessEnv): string[] {
  const values: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!value || value.length < MIN_SECRET_LENGTH) continue;
    if (SECRET_NAME.test(name) || /_KEY$/.test(name)) values.push(value);
    if (/^OTEL_EXPORTER_OTLP_(?:[A-Z]+_)?HEADERS$/.test(name)) {
      // `authorization=Bearer …,api-key=…`: the collector's credentials, whole and one by one.
      values.push(value);
      for (const pair of value.split(',')) {
        const at = pair.indexOf('=');
        if (at <= 0) continue;
        const raw = pair.slice(at + 1).trim();
        values.push(raw);
        try {
          values.push(decodeURIComponent(raw));
        } catch {
          // not percent-encoded after all; the raw value is kept
        }
      }
    }
    if (/_URL$/.test(name)) {
      try {
        const u = new URL(value);
        if (u.password) values.push(decodeURIComponent(u.password), u.password);
      } catch {
        // not a URL; nothing to extract
      }
    }
  }
  return [...new Set(values.filter((v) => v.length >= MIN_SECRET_LENGTH))];
}

/**
 * Secrets known only while one job runs. `register` adds a value (and its encodings) to the
 * scrubber; `release` removes what this scope added, once the attempt's outcome is scrubbed.
 */
export interface SecretScope {
  register(value: string): void;
  release(): void;
}

export interface Scrubber {
  <T>(value: T): T;
  /** False when `json` cannot contain anything to scrub (a cheap test on serialised text). */
  mayContainSecrets(json: string): boolean;
  /** A scope for secrets learnt at run time (one per job attempt). */
  scope(): SecretScope;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Builds a deep scrubber; `secrets` are literal values to replace wherever they appear. */
export function createScrubber(secrets: string[] = []): Scrubber {
  const fixed = new Set(secrets.flatMap(secretVariants));
  // Run-time secrets are counted: two concurrent jobs may register the same token.
  const runtime = new Map<string, number>();
  let literals: RegExp | null = null;
  const rebuild = () => {
    const all = [...fixed, ...runtime.keys()].sort((a, b) => b.length - a.length);
    literals = all.length ? new RegExp(all.map(escapeRegExp).join('|'), 'g') : null;
  };
  rebuild();

  const holdsSecret = (text: string): boolean => {
    if (!literals) return false;
    literals.lastIndex = 0;
    return literals.test(text);
  };
  // Literal values first: a credential pattern could otherwise rewrite part of a secret so that
  // the rest no longer matches, and half a secret would go out. Then base64 words that decode to
  // something holding a secret, then credential shapes.
  const scrubString = (s: string): string => {
    let out = s;
    if (literals) {
      if (holdsSecret(out)) out = out.replace(literals, REDACTED);
      out = out.replace(BASE64_WORD, (word) =>
        !HEX_WORD.test(word) && holdsSecret(Buffer.from(word, 'base64').toString('latin1')) ? REDACTED : word,
      );
    }
    return redactCredentials(out);
  };
  const walk = (value: unknown, depth: number): unknown => {
    if (typeof value === 'string') return scrubString(value);
    if (value === null || typeof value !== 'object' || depth > 8) return value;
    if (value instanceof Date) return value;
    if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1));
    if (value instanceof Error) return scrubError(value, depth);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        SECRET_NAME.test(k) && v !== null && v !== undefined && typeof v !== 'boolean' ? REDACTED : walk(v, depth + 1);
    }
    return out;
  };
  /** A plain copy: scrubbed message and stack, a scrubbed `code` and `cause`, nothing else. */
  const scrubError = (error: Error, depth: number): Error => {
    const copy = new Error(scrubString(error.message));
    copy.name = error.name;
    copy.stack = error.stack ? scrubString(error.stack) : undefined;
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' || typeof code === 'number') Object.assign(copy, { code });
    if (error.cause !== undefined && depth < 4) copy.cause = walk(error.cause, depth + 1);
    return copy;
  };

  const scrubber = (<T>(value: T) => walk(value, 0) as T) as Scrubber;
  scrubber.mayContainSecrets = (json) => {
    if (CREDENTIAL_HINT.test(json)) return true;
    if (!literals) return false;
    literals.lastIndex = 0;
    return literals.test(json);
  };
  scrubber.scope = () => {
    const mine: string[] = [];
    return {
      register(value) {
        const added = secretVariants(value).filter((v) => !fixed.has(v));
        for (const v of added) runtime.set(v, (runtime.get(v) ?? 0) + 1);
        mine.push(...added);
        if (added.length) rebuild();
      },
      release() {
        if (!mine.length) return;
        for (const v of mine.splice(0)) {
          const n = (runtime.get(v) ?? 1) - 1;
          if (n > 0) runtime.set(v, n);
          else runtime.delete(v);
        }
        rebuild();
      },
    };
  };
  return scrubber;
}
