/** Opening an imapflow connection for an account, with the limits and checks every sync uses. */
import { isIP } from 'node:net';
import { PermanentError } from '@fleet/runtime';
import {
  type Allowlist,
  checkedAddress,
  explainRefusal,
  isLoopbackHost,
  type LookupAll,
  RefusedAddressError,
} from '@fleet/safe-fetch';
import { ImapFlow } from 'imapflow';
import type { ImapServer } from '../provider.ts';
import { connectError } from './imap-errors.ts';

export interface ImapConnectSettings {
  /** Cap on connecting, the greeting, and any silence of the server mid-command. */
  timeoutMs?: number;
  /**
   * IMAP_ALLOWED_HOSTS: host names and CIDRs opened whatever their address; when it has entries,
   * nothing else is. Without one, only public addresses are reached.
   */
  allow?: Allowlist;
  /** Resolver; tests inject one to make a name resolve to a chosen address. */
  lookup?: LookupAll;
}

/**
 * The address to connect to for an account's IMAP host, which a tenant chose: every address it
 * resolves to is judged like a payload URL's (no loopback, private, link-local or metadata
 * addresses unless IMAP_ALLOWED_HOSTS opens them) before any connection is made.
 */
export async function imapAddress(settings: ImapConnectSettings, host: string): Promise<string> {
  try {
    return await checkedAddress(host, settings.allow, settings.lookup);
  } catch (err) {
    if (err instanceof RefusedAddressError) {
      throw new PermanentError(`imap_host: ${host} refused: ${explainRefusal(err, 'IMAP_ALLOWED_HOSTS')}`);
    }
    throw new Error(`IMAP host ${host} could not be resolved: ${(err as Error).message}`, { cause: err });
  }
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
  const address = await imapAddress(settings, server.host);
  const timeout = settings.timeoutMs ?? 30_000;
  const client = new ImapFlow({
    // The judged address, not the name again; TLS still verifies the certificate for the name.
    host: address,
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
