/**
 * Whether a post found on a platform is the one an uncertain attempt sent: the same text once
 * markup is stripped (Mastodon answers HTML), whitespace collapsed and links ignored (both
 * platforms rewrite them: X to t.co links, Mastodon into shortened anchors).
 */
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'", nbsp: ' ' };

export function htmlToText(html: string): string {
  return html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/p>\s*<p>/gi, '\n\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&(#?\w+);/g, (m, name: string) =>
      name.startsWith('#x')
        ? String.fromCodePoint(Number.parseInt(name.slice(2), 16))
        : name.startsWith('#') && name !== '#39'
          ? String.fromCodePoint(Number(name.slice(1)))
          : (ENTITIES[name] ?? m),
    );
}

function comparable(text: string): string {
  return text
    .replace(/https?:\/\/\S+/g, '<link>')
    .replace(/\s+/g, ' ')
    .trim();
}

export function sameText(a: string, b: string): boolean {
  return comparable(a) === comparable(b);
}
