import { describe, expect, it } from 'vitest';
import { sniffImageType } from '../src/media-fetch.ts';
import {
  MASTODON_RULES,
  mastodonLength,
  mediaProblems,
  postProblems,
  X_RULES,
  xLength,
} from '../src/platform-rules.ts';
import { htmlToText, sameText } from '../src/same-text.ts';
import { rateLimitWaitMs } from '../src/social-http.ts';
import { bmp, png } from './platform-stubs.ts';

describe('lengths as the platforms count them', () => {
  it('counts a URL as 23 on both, whatever its length', () => {
    const url = `https://example.org/${'a'.repeat(100)}`;
    expect(mastodonLength(`Read ${url}`)).toBe(5 + 23);
    expect(xLength(`Read ${url}`)).toBe(5 + 23);
  });

  it('weighs CJK and emoji 2 on X (an emoji sequence once), 1 on Mastodon', () => {
    expect(xLength('漢字')).toBe(4);
    expect(mastodonLength('漢字')).toBe(2);
    const family = '👨‍👩‍👧';
    expect(xLength(family)).toBe(2);
    expect(mastodonLength(family)).toBe(1);
    expect(xLength('café – “quoted”')).toBe(15);
  });

  it('names every problem of a post at once', () => {
    expect(
      postProblems(X_RULES, { text: 'a'.repeat(281), media: [{}, {}, {}, {}, { alt_text: 'x'.repeat(1001) }] }),
    ).toEqual([
      'text: 281 characters as x counts them, more than its 280',
      'media: 5 images, more than the 4 x allows',
      'media[4].alt_text: longer than the 1000 characters x allows',
    ]);
    expect(postProblems(MASTODON_RULES, { text: ' ', media: [] })).toEqual(['text: a post needs text or an image']);
    expect(postProblems(MASTODON_RULES, { text: 'a'.repeat(500), media: [] })).toEqual([]);
  });

  it('checks fetched files: type, size per type, and a GIF alone on X', () => {
    expect(mediaProblems(X_RULES, [{ mimeType: 'image/png', sizeBytes: 6 * 1024 * 1024 }])).toEqual([
      'media[0]: 6291456 bytes, more than the 5242880 x accepts for image/png',
    ]);
    expect(
      mediaProblems(X_RULES, [
        { mimeType: 'image/gif', sizeBytes: 10 },
        { mimeType: 'image/png', sizeBytes: 10 },
      ]),
    ).toEqual(['media[0]: image/gif must be the only image of a post on x']);
    expect(mediaProblems(MASTODON_RULES, [{ mimeType: 'image/png', sizeBytes: 6 * 1024 * 1024 }])).toEqual([]);
  });
});

describe('rate-limit waits', () => {
  const now = Date.parse('2026-05-01T12:00:00Z');
  it('reads Retry-After, Mastodon’s X-RateLimit-Reset and X’s x-rate-limit-reset', () => {
    expect(rateLimitWaitMs(new Headers({ 'retry-after': '30' }), now)).toBe(30_000);
    expect(rateLimitWaitMs(new Headers({ 'retry-after': 'Fri, 01 May 2026 12:01:00 GMT' }), now)).toBe(60_000);
    expect(rateLimitWaitMs(new Headers({ 'x-ratelimit-reset': '2026-05-01T12:05:00.000Z' }), now)).toBe(300_000);
    expect(rateLimitWaitMs(new Headers({ 'x-rate-limit-reset': String(now / 1000 + 90) }), now)).toBe(90_000);
    expect(rateLimitWaitMs(new Headers(), now)).toBe(60_000);
  });
});

describe('matching a found post', () => {
  it('compares Mastodon HTML with the text sent, links aside', () => {
    const html =
      '<p>Launch &amp; more<br />see <a href="https://example.org/x"><span class="invisible">https://</span>example.org/x</a></p>';
    expect(sameText(htmlToText(html), 'Launch & more\nsee https://example.org/x')).toBe(true);
    expect(sameText('Launch https://t.co/abc', 'Launch https://example.org/long')).toBe(true);
    expect(sameText('Launch', 'Launch!')).toBe(false);
  });

  it('tells images by their bytes', () => {
    expect(sniffImageType(png())).toBe('image/png');
    expect(sniffImageType(bmp())).toBeNull();
  });
});
