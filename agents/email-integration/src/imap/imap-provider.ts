/**
 * MailProvider over IMAP (imapflow): one connection per sync, at most `maxConnectionsPerHost`
 * per server from this process, read-only mailbox access, reconnected when it drops mid-sync.
 *
 * Message ids survive a UIDVALIDITY change: `imap:<account>:<Message-ID>` (or a hash of the
 * envelope for mail without one), so a full resync after the server renumbered a folder finds
 * everything already stored and fetches nothing twice. UIDs only say where to fetch from.
 */
import { once } from 'node:events';
import { PermanentError } from '@fleet/runtime';
import type { ImapFlow } from 'imapflow';
import type { Logger } from 'pino';
import {
  type AccountAccess,
  type CallOptions,
  CursorExpiredError,
  type FetchedMessages,
  type IdPage,
  type MailProvider,
  type MailSession,
  type MessageFailure,
  type ParsedEmail,
} from '../provider.ts';
import { HostSlots } from './host-slots.ts';
import { connectImap, type ImapConnectSettings } from './imap-connect.ts';
import { type FolderCursor, formatCursor, type ImapCursor, parseCursor } from './imap-cursor.ts';
import { isConnectionLost } from './imap-errors.ts';
import { type Located, locate, parseFetched } from './imap-messages.ts';

export interface ImapProviderConfig extends ImapConnectSettings {
  /** Messages per listing page (one transaction each) and per FETCH of message sources. */
  pageSize?: number;
  /** Connections open at once to one server host from this process. */
  maxConnectionsPerHost?: number;
  /** Reconnections one sync may make after its connection dropped. */
  maxReconnects?: number;
}

interface Folder {
  path: string;
  sent: boolean;
}

/** The UIDs one listing found in one folder, newest first. */
interface FolderPlan {
  path: string;
  uidValidity: string;
  uids: number[];
}

export class ImapProvider implements MailProvider {
  readonly name = 'imap';
  private readonly slots: HostSlots;

  constructor(private readonly config: ImapProviderConfig = {}) {
    this.slots = new HostSlots(Math.max(config.maxConnectionsPerHost ?? 4, 1));
  }

  /** Connections this provider has open to `host` (for tests and metrics). */
  openConnections(host: string): number {
    return this.slots.count(host);
  }

  async openSession(account: AccountAccess, opts: CallOptions = {}): Promise<MailSession> {
    const imap = account.imap;
    if (!imap) throw new PermanentError(`mail account ${account.id} has no IMAP server settings`);
    const release = await this.slots.acquire(imap.host, opts.signal);
    const session = new ImapSession(this.config, { ...account, imap }, release, opts.log);
    try {
      await session.connection(opts.signal);
    } catch (err) {
      await session.close();
      throw err;
    }
    return session;
  }
}

class ImapSession implements MailSession {
  private client: ImapFlow | null = null;
  /** Settles when the current client's socket has closed. */
  private clientClosed: Promise<unknown> = Promise.resolve();
  private folders: Folder[] | null = null;
  private plan: FolderPlan[] = [];
  private nextCursor: ImapCursor | null = null;
  private readonly located = new Map<string, Located>();
  private readonly pageSize: number;
  private closed = false;
  reconnects = 0;

  constructor(
    private readonly config: ImapProviderConfig,
    private readonly account: AccountAccess & { imap: NonNullable<AccountAccess['imap']> },
    private readonly release: () => void,
    private readonly log?: Logger,
  ) {
    this.pageSize = Math.min(Math.max(config.pageSize ?? 100, 1), 1000);
  }

  /** The open connection, connecting (again) when there is none. */
  async connection(signal?: AbortSignal): Promise<ImapFlow> {
    if (this.client?.usable) return this.client;
    this.client?.close();
    signal?.throwIfAborted();
    const client = await connectImap(this.config, this.account.imap, this.account.secret);
    this.clientClosed = once(client, 'close').catch(() => undefined);
    this.client = client;
    return client;
  }

  /**
   * Runs `op` on the connection; when the connection drops under it, reconnects (up to
   * maxReconnects per sync) and runs it again. Every op is a read, so a repeat is harmless.
   */
  private async withClient<T>(signal: AbortSignal | undefined, op: (client: ImapFlow) => Promise<T>): Promise<T> {
    for (;;) {
      const client = await this.connection(signal);
      const onAbort = () => client.close();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        return await op(client);
      } catch (err) {
        signal?.throwIfAborted();
        if (!isConnectionLost(err) || this.reconnects >= (this.config.maxReconnects ?? 2)) throw err;
        this.reconnects++;
        this.log?.warn(
          { host: this.account.imap.host, reconnects: this.reconnects, code: (err as { code?: string }).code },
          'IMAP connection lost; reconnecting',
        );
        this.client = null;
        client.close();
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    }
  }

  /** The folders to sync: the account's choice (each must exist), else INBOX and the \Sent one. */
  private async resolveFolders(signal?: AbortSignal): Promise<Folder[]> {
    if (this.folders) return this.folders;
    const listed = await this.withClient(signal, (c) => c.list());
    const sentPaths = new Set(listed.filter((f) => f.specialUse === '\\Sent').map((f) => f.path));
    const wanted = this.account.imap.folders;
    let folders: Folder[];
    if (wanted && wanted.length > 0) {
      const byPath = new Map(listed.map((f) => [f.path, f]));
      const missing = wanted.filter((p) => !byPath.has(p));
      if (missing.length > 0) {
        throw new PermanentError(
          `imap_folders: ${missing.map((m) => `"${m}"`).join(', ')} not found on ${this.account.imap.host} ` +
            `(it has ${listed.map((f) => `"${f.path}"`).join(', ')})`,
        );
      }
      folders = wanted.map((path) => ({ path, sent: sentPaths.has(path) }));
    } else {
      folders = [{ path: 'INBOX', sent: false }, ...[...sentPaths].map((path) => ({ path, sent: true }))];
    }
    this.folders = folders;
    return folders;
  }

  private async folderState(path: string, signal?: AbortSignal): Promise<FolderCursor> {
    const status = await this.withClient(signal, (c) =>
      c.status(path, { uidNext: true, uidValidity: true, highestModseq: true }),
    );
    if (!status) throw new Error(`IMAP STATUS of folder ${path} failed`);
    return {
      uidValidity: String(status.uidValidity),
      uidNext: Number(status.uidNext ?? 1),
      ...(status.highestModseq !== undefined ? { modseq: String(status.highestModseq) } : {}),
    };
  }

  async currentCursor(opts: CallOptions = {}): Promise<string> {
    const cursor: ImapCursor = { v: 1, folders: {} };
    for (const f of await this.resolveFolders(opts.signal))
      cursor.folders[f.path] = await this.folderState(f.path, opts.signal);
    return formatCursor(cursor);
  }

  /** UIDs of a folder matching `query`, newest first, with the UIDVALIDITY they belong to. */
  private async search(path: string, query: Record<string, unknown>, signal?: AbortSignal): Promise<FolderPlan> {
    return this.withClient(signal, async (c) => {
      const lock = await c.getMailboxLock(path, { readOnly: true });
      try {
        const mailbox = c.mailbox;
        const uidValidity = mailbox ? String(mailbox.uidValidity) : '';
        const found = (await c.search(query, { uid: true })) || [];
        return { path, uidValidity, uids: [...found].sort((a, b) => b - a) };
      } finally {
        lock.release();
      }
    });
  }

  async listMessages(since: Date | null, pageToken: string | null, opts: CallOptions = {}): Promise<IdPage> {
    if (pageToken === null) {
      this.plan = [];
      for (const f of await this.resolveFolders(opts.signal)) {
        this.plan.push(await this.search(f.path, since ? { since } : { all: true }, opts.signal));
      }
    }
    return this.page(pageToken, opts.signal);
  }

  async listChangesSince(
    cursor: string,
    pageToken: string | null,
    opts: CallOptions = {},
  ): Promise<IdPage & { cursor: string }> {
    if (pageToken === null || !this.nextCursor) {
      const stored = parseCursor(cursor);
      const next: ImapCursor = { v: 1, folders: {} };
      this.plan = [];
      for (const f of await this.resolveFolders(opts.signal)) {
        const before = stored.folders[f.path];
        const now = await this.folderState(f.path, opts.signal);
        if (!before) throw new CursorExpiredError(`folder ${f.path} has no sync cursor yet`);
        if (before.uidValidity !== now.uidValidity) {
          throw new CursorExpiredError(`UIDVALIDITY of ${f.path} changed (${before.uidValidity} → ${now.uidValidity})`);
        }
        next.folders[f.path] = now;
        // CONDSTORE: an unchanged HIGHESTMODSEQ means nothing was added, so no search at all.
        const unchanged = before.modseq !== undefined && before.modseq === now.modseq;
        if (unchanged || now.uidNext <= before.uidNext) continue;
        const found = await this.search(f.path, { uid: `${before.uidNext}:*` }, opts.signal);
        // `n:*` always matches the last message, even one below n.
        this.plan.push({ ...found, uids: found.uids.filter((u) => u >= before.uidNext) });
      }
      this.nextCursor = next;
    }
    return { ...(await this.page(pageToken, opts.signal)), cursor: formatCursor(this.nextCursor) };
  }

  /** One page of the current listing: ids for up to pageSize UIDs from where `pageToken` points. */
  private async page(pageToken: string | null, signal?: AbortSignal): Promise<IdPage> {
    let [folderIndex, offset] = pageToken ? pageToken.split(':').map(Number) : [0, 0];
    folderIndex ??= 0;
    offset ??= 0;
    while (folderIndex < this.plan.length && offset >= this.plan[folderIndex]!.uids.length) {
      folderIndex++;
      offset = 0;
    }
    const folder = this.plan[folderIndex];
    if (!folder) return { messageIds: [], nextPageToken: null };
    const uids = folder.uids.slice(offset, offset + this.pageSize);
    const sent = (this.folders ?? []).find((f) => f.path === folder.path)?.sent ?? false;
    const found = await this.withClient(signal, (c) =>
      locate(c, { ...folder, uids }, { accountId: this.account.id, sent }),
    );
    for (const l of found) this.located.set(l.id, l);
    let nextFolder = folderIndex;
    let nextOffset = offset + uids.length;
    if (nextOffset >= folder.uids.length) {
      nextFolder++;
      nextOffset = 0;
    }
    const more = this.plan.slice(nextFolder).some((f, i) => (i === 0 ? nextOffset : 0) < f.uids.length);
    return {
      messageIds: [...new Set(found.map((l) => l.id))],
      nextPageToken: more ? `${nextFolder}:${nextOffset}` : null,
    };
  }

  async getMessages(ids: string[], opts: CallOptions = {}): Promise<FetchedMessages> {
    const emails: ParsedEmail[] = [];
    const failures: MessageFailure[] = [];
    const gone: string[] = [];
    const byFolder = new Map<string, Located[]>();
    for (const id of ids) {
      const l = this.located.get(id);
      if (!l) {
        gone.push(id);
        continue;
      }
      byFolder.set(l.path, [...(byFolder.get(l.path) ?? []), l]);
    }
    for (const group of byFolder.values()) {
      for (let i = 0; i < group.length; i += this.pageSize) {
        const batch = group.slice(i, i + this.pageSize);
        const out = await this.withClient(opts.signal, (c) => parseFetched(c, batch, opts.log));
        emails.push(...out.emails);
        failures.push(...out.failures);
        gone.push(...out.gone);
      }
    }
    const order = new Map(ids.map((id, i) => [id, i]));
    emails.sort((a, b) => order.get(a.providerMessageId)! - order.get(b.providerMessageId)!);
    return { emails, failures, gone };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const client = this.client;
    this.client = null;
    try {
      if (client?.usable) {
        await Promise.race([client.logout(), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
      }
    } catch {
      // Logging out of a dying connection: nothing left to tidy.
    } finally {
      if (client) {
        // The slot is free once the socket is: only then may another sync connect in its place.
        client.close();
        await Promise.race([this.clientClosed, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
      }
      this.release();
    }
  }
}
