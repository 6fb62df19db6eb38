export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';

/** Environment of a control plane under test: own database and Redis prefix, a free port. */
export function controlPlaneEnv(dbUrl: string, redisUrl: string, prefix: string, extra: Record<string, string> = {}) {
  return {
    DATABASE_URL: dbUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    CONTROL_PLANE_PORT: '0',
    CONTROL_PLANE_HOST: '127.0.0.1',
    ADMIN_API_KEY: ADMIN_KEY,
    LOG_LEVEL: 'silent',
    LOG_PRETTY: 'false',
    ...extra,
  };
}

/** A small HTTP client: JSON in, `{ status, body, headers }` out. */
export function client(baseUrl: string) {
  return async function call(
    method: string,
    path: string,
    options: { key?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = { ...options.headers };
    const key = options.key === undefined ? ADMIN_KEY : options.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let body: string | undefined;
    if (options.raw !== undefined) {
      body = options.raw;
      headers['content-type'] ??= 'application/json';
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(`${baseUrl}${path}`, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
    let json: any = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: res.status, body: json, text, headers: res.headers };
  };
}
