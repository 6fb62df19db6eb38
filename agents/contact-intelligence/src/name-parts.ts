/**
 * First and last name from what a mail client shows ("Jane Doe", "Doe, Jane", "Dr. Jane Q. Doe
 * PhD", "\"DOE, JANE\" <jane@acme.io>") or, failing that, from a first.last style local part.
 * Middle names and initials are dropped; name particles stay with the last name
 * ("Ludwig van Beethoven" → "van Beethoven").
 */
export interface NameParts {
  firstName: string;
  lastName: string | null;
}

const HONORIFICS = new Set(['mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'prof', 'professor', 'sir', 'dame', 'madam', 'rev']);
const SUFFIXES = new Set(['jr', 'sr', 'ii', 'iii', 'iv', 'phd', 'md', 'mba', 'esq', 'cpa', 'dds', 'msc', 'bsc']);
const PARTICLES = new Set([
  'van',
  'von',
  'de',
  'da',
  'del',
  'della',
  'der',
  'den',
  'di',
  'du',
  'la',
  'le',
  'st',
  'bin',
  'al',
  'ter',
  'ten',
]);

const bare = (token: string) => token.toLowerCase().replace(/\./g, '');

/** Name parts of a display name; null when it holds no usable name (empty, an address, digits). */
export function nameFromDisplayName(displayName: string | null | undefined): NameParts | null {
  if (!displayName) return null;
  let s = displayName
    .replace(/<[^>]*>/g, ' ') // "Name <address>"
    .replace(/\([^)]*\)|\[[^\]]*\]/g, ' ') // "Jane Doe (Acme)"
    .replace(/\s[|–—-]\s.*$/, ' ') // "Jane Doe | Acme", "Jane Doe - Sales"
    .replace(/["`]/g, ' ')
    .replace(/(^|\s)'+|'+(?=\s|$)/g, '$1') // quotes around a name, not the apostrophe in O'Brien
    .replace(/\s+/g, ' ')
    .trim();
  if (s === '' || s.includes('@') || /\d/.test(s)) return null;

  let tokens: string[];
  const comma = s.indexOf(',');
  if (comma > 0) {
    // "Doe, Jane Q." — unless what follows the comma is only a suffix ("Jane Doe, PhD").
    const after = s.slice(comma + 1).trim();
    const afterTokens = after.split(' ').filter(Boolean);
    if (afterTokens.length > 0 && !afterTokens.every((t) => SUFFIXES.has(bare(t)))) {
      tokens = [...afterTokens, ...s.slice(0, comma).trim().split(' ')];
    } else {
      s = s.slice(0, comma);
      tokens = s.split(' ');
    }
  } else {
    tokens = s.split(' ');
  }
  tokens = tokens.map((t) => t.replace(/,$/, '')).filter(Boolean);
  while (tokens.length > 1 && HONORIFICS.has(bare(tokens[0]!))) tokens.shift();
  while (tokens.length > 1 && SUFFIXES.has(bare(tokens[tokens.length - 1]!))) tokens.pop();
  if (tokens.length === 0) return null;

  const recase = shouldRecase(tokens.join(' '));
  const fix = (t: string) => (recase ? titleCase(t) : t);
  if (tokens.length === 1) return { firstName: fix(tokens[0]!), lastName: null };

  let start = tokens.length - 1;
  while (start > 1 && PARTICLES.has(bare(tokens[start - 1]!))) start--;
  const last = tokens
    .slice(start)
    .map((t, i, all) => (i < all.length - 1 && PARTICLES.has(bare(t)) ? t.toLowerCase() : fix(t)))
    .join(' ');
  return { firstName: fix(tokens[0]!), lastName: last };
}

/**
 * Name parts from a local part shaped like first.last, first_last or first-last. Anything else
 * (jdoe, j.doe, sales) says too little to guess from.
 */
export function nameFromLocalPart(localPart: string): NameParts | null {
  const base = localPart.split('+')[0]!.toLowerCase();
  const m = /^([a-z]{2,})[._-]([a-z]{2,})$/.exec(base);
  if (!m) return null;
  return { firstName: titleCase(m[1]!), lastName: titleCase(m[2]!) };
}

/** ALL CAPS or all lower case names are re-cased; mixed case (McDonald, DeVito) is kept. */
function shouldRecase(s: string): boolean {
  return s === s.toUpperCase() || s === s.toLowerCase();
}

export function titleCase(word: string): string {
  return word.toLowerCase().replace(/(^|[-'’\s])(\p{L})/gu, (_, sep: string, ch: string) => sep + ch.toUpperCase());
}
