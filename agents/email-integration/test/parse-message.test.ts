import { describe, expect, it } from 'vitest';
import { parseAddressList } from '../src/addresses.ts';
import { parseGmailMessage } from '../src/gmail/parse-message.ts';
import { b64url, message } from './fixtures.ts';

describe('parseGmailMessage', () => {
  it('decodes a Latin-1 text part in its declared charset', () => {
    const m = message({ id: 'x', from: 'a@a.test', minute: 0, text: '' });
    const part = m.payload!.parts![0]!;
    part.headers = [{ name: 'Content-Type', value: 'text/plain; charset=ISO-8859-1' }];
    part.body = { size: 5, data: b64url(Buffer.from([0x43, 0x61, 0x66, 0xe9, 0x21])) };
    expect(parseGmailMessage(m).bodyText).toBe('Café!');
  });

  it('reads a single-part message whose body sits on the payload itself', () => {
    const parsed = parseGmailMessage({
      id: 's1',
      threadId: 's1',
      internalDate: '1772442000000',
      payload: {
        mimeType: 'text/plain',
        headers: [
          { name: 'From', value: 'Solo <solo@a.test>' },
          { name: 'To', value: 'x@b.test, "Doe, Jane" <Jane@B.test>' },
          { name: 'Subject', value: 'Hello' },
        ],
        body: { size: 4, data: b64url('Body\r\nline\u0000') },
      },
    });
    expect(parsed).toMatchObject({
      from: { address: 'solo@a.test', name: 'Solo' },
      to: [
        { address: 'x@b.test', name: null },
        { address: 'jane@b.test', name: 'Doe, Jane' },
      ],
      bodyText: 'Body\nline',
      sentAt: new Date(1772442000000),
    });
  });

  it('falls back to the Date header when internalDate is missing, and fails without either', () => {
    const m = message({ id: 'd', from: 'a@a.test', minute: 0, text: 'x' });
    delete m.internalDate;
    expect(parseGmailMessage(m).sentAt.toISOString()).toBe('2026-03-02T09:00:00.000Z');
    m.payload!.headers = m.payload!.headers!.filter((h) => h.name !== 'Date');
    expect(() => parseGmailMessage(m)).toThrow(/neither internalDate nor a readable Date/);
  });
});

describe('parseAddressList', () => {
  it('parses RFC 5322 lists, groups and obsolete forms', () => {
    expect(parseAddressList('John Q. Public <JQ@x.test>, team: a@t.test, b@t.test;, undisclosed-recipients:;')).toEqual(
      [
        { address: 'jq@x.test', name: 'John Q. Public' },
        { address: 'a@t.test', name: null },
        { address: 'b@t.test', name: null },
      ],
    );
  });

  it('recovers addresses from headers that break the grammar', () => {
    expect(parseAddressList('Broken "Name <a@x.test>, <b@y.test>; c@z.test')).toEqual([
      { address: 'a@x.test', name: 'Name' },
      { address: 'b@y.test', name: null },
      { address: 'c@z.test', name: null },
    ]);
    expect(parseAddressList('nobody')).toEqual([]);
  });
});
