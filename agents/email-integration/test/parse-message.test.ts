import { describe, expect, it } from 'vitest';
import { parseAddressList } from '../src/addresses.ts';
import { parseGmailMessage } from '../src/gmail/parse-message.ts';
import { messageFromRaw } from '../src/raw-message.ts';
import { b64url, message } from './fixtures.ts';

const raw = (lines: string[]) =>
  messageFromRaw(lines.join('\r\n'), { id: 'r', threadId: 'r', internalDate: new Date(1_000) });

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

describe('senders', () => {
  const withHeaders = (headers: Record<string, string>) => {
    const m = message({ id: 'h', from: 'x', minute: 0, text: 'x' });
    m.payload!.headers = [
      ...m.payload!.headers!.filter((h) => h.name !== 'From'),
      ...Object.entries(headers).map(([name, value]) => ({ name, value })),
    ];
    return parseGmailMessage(m).from;
  };

  it('falls back from From to Sender to Return-Path, and keeps mail that names none', () => {
    expect(withHeaders({ Sender: 'List <list@l.test>', 'Return-Path': '<bounce@l.test>' })).toEqual({
      address: 'list@l.test',
      name: 'List',
    });
    expect(withHeaders({ 'Return-Path': '<Bounce@L.test>' })).toEqual({ address: 'bounce@l.test', name: null });
    // a bounce's null envelope sender names nobody
    expect(withHeaders({ 'Return-Path': '<>' })).toBeNull();
    expect(withHeaders({})).toBeNull();
    expect(withHeaders({ From: 'undisclosed', Sender: 's@l.test' })).toEqual({ address: 's@l.test', name: null });
  });

  it('reads the comment form of a display name', () => {
    expect(withHeaders({ From: 'MAILER-DAEMON@mx.example.net (Mail Delivery System)' })).toEqual({
      address: 'mailer-daemon@mx.example.net',
      name: 'Mail Delivery System',
    });
    // a real display name wins over a comment
    expect(withHeaders({ From: 'Ann <ann@a.test> (sales)' })).toEqual({ address: 'ann@a.test', name: 'Ann' });
  });
});

describe('bodies', () => {
  it('decodes named and numeric entities in the snippet', () => {
    const m = message({ id: 'e', from: 'a@a.test', minute: 0, text: 'x' });
    m.snippet = 'We&rsquo;re &quot;in&quot; &mdash; caf&eacute; &#8364;5 &amp; more&hellip;';
    expect(parseGmailMessage(m).snippet).toBe('We\u2019re "in" \u2014 caf\u00e9 \u20ac5 & more\u2026');
  });

  it('makes a snippet from the body when the provider sends none', async () => {
    const parsed = parseGmailMessage(await raw(['From: a@a.test', '', `Hello   there\r\n${'word '.repeat(100)}`]));
    expect(parsed.snippet).toMatch(/^Hello there word word/);
    expect(parsed.snippet!.length).toBe(200);
  });

  it('reads delivery reports and inline embedded messages, not attached ones', async () => {
    const parsed = parseGmailMessage(
      await raw([
        'From: MAILER-DAEMON@mx.test (Mail Delivery System)',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="r"',
        '',
        '--r',
        'Content-Type: text/plain',
        '',
        'Your message could not be delivered.',
        '--r',
        'Content-Type: message/delivery-status',
        '',
        'Final-Recipient: rfc822; gone@x.test',
        'Status: 5.1.1',
        '--r',
        'Content-Type: message/rfc822',
        '',
        'From: Me <me@acme.test>',
        'Subject: Returned original',
        '',
        'The returned original text.',
        '--r',
        'Content-Type: message/rfc822',
        'Content-Disposition: inline',
        '',
        'From: "Ann Lee" <Ann@a.test>',
        'To: me@acme.test',
        'Subject: =?UTF-8?Q?Caf=C3=A9?=',
        'Date: Mon, 2 Mar 2026 09:00:00 +0000',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Forwarded words.',
        '--r--',
      ]),
    );
    expect(parsed.bodyText).toBe(
      [
        'Your message could not be delivered.',
        'Final-Recipient: rfc822; gone@x.test\nStatus: 5.1.1',
        'From: "Ann Lee" <Ann@a.test>\nSubject: Caf\u00e9\nDate: Mon, 02 Mar 2026 09:00:00 GMT\nTo: me@acme.test',
        'Forwarded words.',
      ].join('\n\n'),
    );
  });

  it('reads 8-bit text labelled us-ascii as UTF-8, and joins format=flowed lines', async () => {
    const parsed = parseGmailMessage(
      await raw([
        'From: a@a.test',
        'Content-Type: multipart/mixed; boundary="m"',
        '',
        '--m',
        'Content-Type: text/plain; charset=us-ascii',
        'Content-Transfer-Encoding: 8bit',
        '',
        'na\u00efve \u2192 caf\u00e9',
        '--m',
        'Content-Type: text/plain; format=flowed; delsp=yes',
        '',
        // delsp=yes: the space before a soft break is the marker, so a real one is doubled
        'a long wo ',
        'rd and a soft  ',
        'break',
        '--m--',
      ]),
    );
    expect(parsed.bodyText).toBe('na\u00efve \u2192 caf\u00e9\n\na long word and a soft break');
  });

  it('reports an HTML body cut for length through the logger, not the console', async () => {
    const warnings: Array<{ obj: object; msg: string }> = [];
    const html = `<p>${'x'.repeat(1_100_000)}</p>`;
    const m = message({ id: 'big', from: 'a@a.test', minute: 0, html });
    const consoleWarns: unknown[] = [];
    const original = console.warn;
    console.warn = (...args: unknown[]) => consoleWarns.push(args);
    try {
      parseGmailMessage(m, { log: { warn: (obj, msg) => warnings.push({ obj, msg }) } });
    } finally {
      console.warn = original;
    }
    expect(consoleWarns).toEqual([]);
    expect(warnings).toEqual([
      {
        obj: { htmlChars: html.length, keptChars: 1_000_000 },
        msg: 'HTML body is too long; converting its start only',
      },
    ]);
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
