/**
 * Which addresses an outbound request may reach. By default only globally routable unicast
 * addresses: loopback, private (RFC 1918), link-local (169.254.0.0/16, where cloud metadata
 * services live), carrier-grade NAT, unspecified, multicast, broadcast, IPv6 unique-local and
 * link-local, the IPv6 forms that embed an IPv4 address (mapped, NAT64, 6to4, Teredo) and every
 * other special-purpose range are refused. An allowlist of host names and CIDRs opens exactly what
 * it names, and when one is set nothing else is reachable. Classification is ipaddr.js's (the
 * IANA special-purpose registries); IPv4-mapped IPv6 addresses are judged as the IPv4 they carry.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Host names and address ranges that may be fetched whatever their address. */
export interface Allowlist {
  hosts: ReadonlySet<string>;
  ranges: ReadonlyArray<{ text: string; range: [ipaddr.IPv4 | ipaddr.IPv6, number] }>;
}

/** Why an address is refused, in words for the error message. */
const RANGE_WORDS: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private (RFC 1918) address',
  linkLocal: 'a link-local address (169.254.0.0/16 and fe80::/10, where cloud metadata services answer)',
  carrierGradeNat: 'a carrier-grade NAT (100.64.0.0/10) address',
  unspecified: 'the unspecified address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  uniqueLocal: 'an IPv6 unique-local (fc00::/7) address',
  ipv4Mapped: 'an IPv4-mapped IPv6 address',
  rfc6052: 'a NAT64 (64:ff9b::/96) address',
  rfc6145: 'an IPv4-translated IPv6 address',
  '6to4': 'a 6to4 (2002::/16) address',
  teredo: 'a Teredo (2001::/32) address',
  reserved: 'a reserved address',
};

/** A refused address: the rule (ipaddr.js's range name, or `allowlist`) and what the address is. */
export interface Refusal {
  rule: string;
  /** The address as judged (an IPv4-mapped IPv6 address as its IPv4 address). */
  address: string;
  /** e.g. "a loopback address"; for `allowlist`, "on none of the allowlist's entries". */
  words: string;
}

const normaliseHost = (host: string) =>
  host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');

/**
 * Reads allowlist entries: host names (`media.example.com`, `localhost`), addresses
 * (`10.0.0.5`, `::1`) and CIDRs (`10.1.0.0/16`, `fd00::/8`). Throws naming every bad entry.
 */
export function parseAllowlist(entries: readonly string[]): Allowlist {
  const hosts = new Set<string>();
  const ranges: Allowlist['ranges'][number][] = [];
  const bad: string[] = [];
  for (const raw of entries) {
    const entry = normaliseHost(raw.trim());
    if (entry === '') continue;
    if (entry.includes('/')) {
      try {
        ranges.push({ text: entry, range: ipaddr.parseCIDR(entry) });
      } catch {
        bad.push(raw);
      }
    } else if (isIP(entry)) {
      const address = ipaddr.parse(entry);
      ranges.push({ text: entry, range: [address, address.kind() === 'ipv4' ? 32 : 128] });
    } else if (
      /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,62}[a-z0-9_])?)*$/.test(entry)
    ) {
      hosts.add(entry);
    } else {
      bad.push(raw);
    }
  }
  if (bad.length) {
    throw new Error(`not a host name, address or CIDR: ${bad.map((b) => JSON.stringify(b)).join(', ')}`);
  }
  return { hosts, ranges };
}

/** True when the allowlist has entries (and so closes everything it does not name). */
export function isRestrictive(allow: Allowlist | undefined): allow is Allowlist {
  return allow !== undefined && (allow.hosts.size > 0 || allow.ranges.length > 0);
}

/** True when the allowlist names this host (exact name, case-insensitive). */
export function namesHost(allow: Allowlist | undefined, host: string): boolean {
  return allow?.hosts.has(normaliseHost(host)) ?? false;
}

/** Parses an address, judging IPv4-mapped IPv6 addresses as their IPv4 address. */
function parseAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 {
  return ipaddr.process(normaliseHost(address));
}

function inRanges(allow: Allowlist | undefined, address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  if (!allow) return false;
  return allow.ranges.some(({ range }) => range[0].kind() === address.kind() && address.match(range));
}

/**
 * Judges one resolved address for a host: null when it may be reached, else why not. A host the
 * allowlist names may be reached at any address; otherwise the address must be in a listed CIDR,
 * or (without an allowlist) be a public unicast address.
 */
export function judgeAddress(host: string, address: string, allow: Allowlist | undefined): Refusal | null {
  if (namesHost(allow, host)) return null;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = parseAddress(address);
  } catch {
    return { rule: 'invalid', address, words: 'not an IP address' };
  }
  if (inRanges(allow, parsed)) return null;
  const text = parsed.toString();
  if (isRestrictive(allow)) return { rule: 'allowlist', address: text, words: "on none of the allowlist's entries" };
  const range = parsed.range();
  if (range === 'unicast') return null;
  return { rule: range, address: text, words: RANGE_WORDS[range] ?? `a special-purpose (${range}) address` };
}
