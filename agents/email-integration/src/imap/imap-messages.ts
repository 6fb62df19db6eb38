/** FETCHes of one folder: the ids of listed UIDs, and the parsed messages behind them. */
import { createHash } from 'node:crypto';
import type { ImapFlow } from 'imapflow';
import { parseMessageId } from '../addresses.ts';
import { type ParseLog, parseGmailMessage } from '../gmail/parse-message.ts';
import type { FetchedMessages, ParsedEmail } from '../provider.ts';
import { messageFromRaw } from '../raw-message.ts';

/** Where a listed message is, under the id it is stored by. */
export interface Located {
  id: string;
  threadId: string;
  path: string;
  uidValidity: string;
  uid: number;
  sent: boolean;
}

/** The folder was renumbered between listing and fetching: its UIDs name other messages now. */
async function openChecked(client: ImapFlow, path: string, uidValidity: string) {
  const lock = await client.getMailboxLock(path, { readOnly: true });
  const now = client.mailbox ? String(client.mailbox.uidValidity) : '';
  if (now !== uidValidity) {
    lock.release();
    throw new Error(
      `UIDVALIDITY of ${path} changed during the sync (${uidValidity} → ${now}); the next sync resyncs it`,
    );
  }
  return lock;
}

/** First message id of a raw `References:` header block. */
function firstReference(headers: Buffer | undefined): string | null {
  if (!headers) return null;
  const value = headers.toString('utf8').replace(/^references:/i, '');
  return parseMessageId(value);
}

/**
 * Ids for `uids` of a folder from their envelopes: the Message-ID (stable when the server
 * renumbers), else a hash of date, sender, subject and size; the thread is named after the
 * first message of its References chain, else the message it replies to, else itself.
 */
export async function locate(
  client: ImapFlow,
  folder: { path: string; uidValidity: string; uids: number[] },
  ctx: { accountId: string; sent: boolean },
): Promise<Located[]> {
  if (folder.uids.length === 0) return [];
  const lock = await openChecked(client, folder.path, folder.uidValidity);
  const out: Located[] = [];
  try {
    const query = { uid: true, envelope: true, size: true, headers: ['references'] };
    for await (const m of client.fetch(folder.uids.join(','), query, { uid: true })) {
      const env = m.envelope;
      const messageId = parseMessageId(env?.messageId);
      const own =
        messageId ??
        `h:${createHash('sha256')
          .update(JSON.stringify([env?.date, env?.from?.[0]?.address, env?.subject, m.size]))
          .digest('hex')
          .slice(0, 32)}`;
      const root = firstReference(m.headers) ?? parseMessageId(env?.inReplyTo) ?? own;
      out.push({
        id: `imap:${ctx.accountId}:${own}`,
        threadId: `imap:${ctx.accountId}:t:${root}`,
        path: folder.path,
        uidValidity: folder.uidValidity,
        uid: m.uid,
        sent: ctx.sent,
      });
    }
  } finally {
    lock.release();
  }
  return out;
}

/** Fetches the sources of `batch` (one folder) and parses them; vanished UIDs are reported gone. */
export async function parseFetched(client: ImapFlow, batch: Located[], log?: ParseLog): Promise<FetchedMessages> {
  const emails: ParsedEmail[] = [];
  const result: FetchedMessages = { emails, failures: [], gone: [] };
  const first = batch[0];
  if (!first) return result;
  const lock = await openChecked(client, first.path, first.uidValidity);
  const sources = new Map<number, { source?: Buffer; internalDate?: Date | string }>();
  try {
    const range = batch.map((l) => l.uid).join(',');
    for await (const m of client.fetch(range, { uid: true, source: true, internalDate: true }, { uid: true })) {
      sources.set(m.uid, m);
    }
  } finally {
    lock.release();
  }
  for (const l of batch) {
    const m = sources.get(l.uid);
    if (!m?.source) {
      result.gone.push(l.id);
      continue;
    }
    try {
      const internalDate = m.internalDate ? new Date(m.internalDate) : undefined;
      const message = await messageFromRaw(m.source, {
        id: l.id,
        threadId: l.threadId,
        labelIds: [l.path, ...(l.sent ? ['SENT'] : [])],
        internalDate: internalDate && !Number.isNaN(internalDate.getTime()) ? internalDate : undefined,
      });
      emails.push(parseGmailMessage(message, { log }));
    } catch (err) {
      result.failures.push({ id: l.id, reason: err instanceof Error ? err.message : `unparseable: ${String(err)}` });
    }
  }
  return result;
}
