/**
 * The .env of one test run: every password and key random, the providers pointed at the stubs,
 * and non-default ports and role names so the run also proves that health checks, the published
 * port and the login roles follow the configuration.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export type ThrowawayEnv = Record<string, string>;

export async function throwawayEnv(publishedPort: number, image: string): Promise<ThrowawayEnv> {
  return {
    FLEET_IMAGE: image,
    POSTGRES_PASSWORD: hex(24),
    AGENT_DATABASE_USER: 'fleet_agent_compose_test',
    AGENT_DATABASE_PASSWORD: hex(24),
    CONTROL_PLANE_DATABASE_USER: 'fleet_cp_compose_test',
    CONTROL_PLANE_DATABASE_PASSWORD: hex(24),
    REDIS_PASSWORD: hex(24),
    ADMIN_API_KEY: hex(24),
    CONTROL_PLANE_PUBLISHED_PORT: String(publishedPort),
    CONTROL_PLANE_PORT: '8181',
    HTTP_PORT: '9555',
    LOG_LEVEL: 'info',
    // Set but unused (no enrichment provider): it must still reach contact-intelligence only.
    ENRICHMENT_API_KEY: hex(16),
    GOOGLE_CLIENT_ID: `compose-test-${hex(4)}.apps.googleusercontent.com`,
    GOOGLE_CLIENT_SECRET: hex(16),
    GOOGLE_OAUTH_TOKEN_URL: 'http://stubs:8080/token',
    GMAIL_API_BASE_URL: 'http://stubs:8080/gmail/v1',
    MAIL_TOKEN_ENCRYPTION_KEY: hex(32),
    TRANSCRIPTION_BASE_URL: 'http://stubs:8080/v1',
    TRANSCRIPTION_API_KEY: hex(16),
    MEDIA_ALLOWED_HOSTS: 'stubs',
    CALDAV_ALLOWED_HOSTS: 'stubs',
    // Read by the stubs only (test/compose/docker-compose.stubs.yml).
    STUB_REFRESH_TOKEN: `1//${hex(20)}`,
    STUB_SLOW_TRANSCRIPTION_MS: '8000',
  };
}

export async function writeEnvFile(path: string, env: ThrowawayEnv): Promise<void> {
  const text = Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
  await writeFile(path, `${text}\n`, { mode: 0o600 });
}
