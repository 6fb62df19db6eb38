/** Opening an imapflow connection for an account, with the limits and checks every sync uses. */
import { isIP } from 'node:net';
import { PermanentError } from '@fleet/runtime';
import { isLoopbackHost } from '@fleet/safe-fetch';
import { ImapFlow } from 'imapflow';
import type { ImapServer } from '../provider.ts';
import { connectError } from './imap-errors.ts';

export interface ImapConnectSettings {
  /** Cap on connecting, the greeting, and any silence of the server mid-command. */
  timeoutMs?: number;
}

/**
 * Connects and logs in. A refused login is a MailAuthError, a server refusing more connections
 * a RetryLaterError; the password never appears in an error (imapflow's messages and the
 * server's answers do not carry it, and nothing here copies the command that sent it).
 */
export async function connectImap(settings: ImapConnectSettings, server: ImapServer, password: string) {
  if (server.security === 'none' && !isLoopbackHost(server.host)) {
    throw new PermanentError(
      `imap_security: "none" sends the password in clear text and is allowed for loopback hosts only, not ${server.host}`,
    );
  }
  const timeout = settings.timeoutMs ?? 30_000;
  const client = new ImapFlow({
    host: server.host,
    port: server.port,
    secure: server.security === 'tls',
    // STARTTLS is required, not opportunistic: a server that does not offer it is refused.
    doSTARTTLS: server.security === 'starttls' ? true : server.security === 'none' ? false : undefined,
    servername: isIP(server.host) ? undefined : server.host,
    auth: { user: server.username, pass: password },
    logger: false,
    disableAutoIdle: true,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: Math.max(timeout, 60_000),
  });
  // Failures reach the caller through the command that was running; an unhandled 'error'
  // event would take the whole worker down instead.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    client.close();
    throw connectError(err, `${server.host}:${server.port}`);
  }
  return client;
}
