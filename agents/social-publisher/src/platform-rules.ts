/**
 * What each platform accepts, checked before anything is sent: a post the platform would refuse
 * is rejected here with every reason at once, instead of after its images were uploaded.
 *
 * Lengths are counted the way the platforms count them: a URL counts as 23 characters whatever
 * its length (both shorten links to a fixed width); Mastodon counts user-perceived characters
 * (grapheme clusters); X weighs them (twitter-text v3): characters of Latin and other common
 * scripts and punctuation weigh 1, others (CJK, emoji) 2, against a limit of 280.
 */

export type Platform = 'mastodon' | 'x';

export interface PlatformRules {
  platform: Platform;
  maxLength: number;
  /** How the length of the text is counted. */
  countLength(text: string): number;
  maxMedia: number;
  /** Accepted image types and the largest file of each. */
  maxBytesByType: Readonly<Record<string, number>>;
  maxAltTextLength: number;
  /** Types that must be the only attachment (X: an animated GIF). */
  aloneTypes: readonly string[];
}

const URL_LENGTH = 23;
const URL_PATTERN = /https?:\/\/[^\s]+/giu;
const MB = 1024 * 1024;
const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

function graphemes(text: string): string[] {
  return [...segmenter.segment(text)].map((s) => s.segment);
}

/** Text with every URL replaced by a placeholder, and the number of URLs. */
function withoutUrls(text: string): { rest: string; urls: number } {
  let urls = 0;
  const rest = text.replace(URL_PATTERN, () => {
    urls++;
    return '';
  });
  return { rest, urls };
}

export function mastodonLength(text: string): number {
  const { rest, urls } = withoutUrls(text);
  return graphemes(rest).length + urls * URL_LENGTH;
}

/** twitter-text v3: code points in these ranges weigh 1, all others 2. */
const LIGHT_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0, 4351],
  [8192, 8205],
  [8208, 8223],
  [8242, 8247],
];

export function xLength(text: string): number {
  const { rest, urls } = withoutUrls(text);
  let weight = urls * URL_LENGTH;
  for (const g of graphemes(rest)) {
    // An emoji sequence (several code points joined) counts once, by its first code point.
    const cp = g.codePointAt(0)!;
    weight += LIGHT_RANGES.some(([lo, hi]) => cp >= lo && cp <= hi) ? 1 : 2;
  }
  return weight;
}

/** Mastodon's defaults (a server may raise them; these are what every server accepts). */
export const MASTODON_RULES: PlatformRules = {
  platform: 'mastodon',
  maxLength: 500,
  countLength: mastodonLength,
  maxMedia: 4,
  maxBytesByType: {
    'image/jpeg': 16 * MB,
    'image/png': 16 * MB,
    'image/gif': 16 * MB,
    'image/webp': 16 * MB,
  },
  maxAltTextLength: 1500,
  aloneTypes: [],
};

export const X_RULES: PlatformRules = {
  platform: 'x',
  maxLength: 280,
  countLength: xLength,
  maxMedia: 4,
  maxBytesByType: { 'image/jpeg': 5 * MB, 'image/png': 5 * MB, 'image/webp': 5 * MB, 'image/gif': 15 * MB },
  maxAltTextLength: 1000,
  aloneTypes: ['image/gif'],
};

export const RULES: Record<Platform, PlatformRules> = { mastodon: MASTODON_RULES, x: X_RULES };

/** Problems of a post's text and media list that are known before any file is fetched. */
export function postProblems(
  rules: PlatformRules,
  post: { text: string; media: ReadonlyArray<{ alt_text?: string }> },
): string[] {
  const problems: string[] = [];
  const length = rules.countLength(post.text);
  if (post.text.trim() === '' && post.media.length === 0) problems.push('text: a post needs text or an image');
  if (length > rules.maxLength) {
    problems.push(`text: ${length} characters as ${rules.platform} counts them, more than its ${rules.maxLength}`);
  }
  if (post.media.length > rules.maxMedia) {
    problems.push(`media: ${post.media.length} images, more than the ${rules.maxMedia} ${rules.platform} allows`);
  }
  post.media.forEach((m, i) => {
    const alt = m.alt_text ?? '';
    if ([...alt].length > rules.maxAltTextLength) {
      problems.push(
        `media[${i}].alt_text: longer than the ${rules.maxAltTextLength} characters ${rules.platform} allows`,
      );
    }
  });
  return problems;
}

/** Problems of the fetched media files: type, size, and types that must be alone. */
export function mediaProblems(
  rules: PlatformRules,
  files: ReadonlyArray<{ mimeType: string; sizeBytes: number }>,
): string[] {
  const problems: string[] = [];
  files.forEach((f, i) => {
    const max = rules.maxBytesByType[f.mimeType];
    if (max === undefined) {
      problems.push(
        `media[${i}]: type ${f.mimeType} is not accepted by ${rules.platform} (${Object.keys(rules.maxBytesByType).join(', ')})`,
      );
    } else if (f.sizeBytes > max) {
      problems.push(
        `media[${i}]: ${f.sizeBytes} bytes, more than the ${max} ${rules.platform} accepts for ${f.mimeType}`,
      );
    }
    if (rules.aloneTypes.includes(f.mimeType) && files.length > 1) {
      problems.push(`media[${i}]: ${f.mimeType} must be the only image of a post on ${rules.platform}`);
    }
  });
  return problems;
}
