/**
 * Naming hosts of the operator's own network, for settings that treat them differently: a
 * plain-text IMAP connection is allowed to this machine only; a self-hosted transcription server
 * needs no API key. Not a security boundary for payload URLs: that is address-rules.ts, on the
 * resolved addresses.
 */
import ipaddr from 'ipaddr.js';

const bare = (host: string) => host.replace(/^\[|\]$/g, '').toLowerCase();

function rangeOf(host: string): string | null {
  return ipaddr.isValid(host) ? ipaddr.process(host).range() : null;
}

/** This machine: `localhost`, 127.0.0.0/8 or ::1. */
export function isLoopbackHost(host: string): boolean {
  const h = bare(host);
  return h === 'localhost' || rangeOf(h) === 'loopback';
}

const PRIVATE_RANGES = new Set(['loopback', 'private', 'linkLocal', 'carrierGradeNat', 'uniqueLocal']);

/**
 * Whether a configured host is on the operator's own network: a loopback, private, link-local,
 * carrier-grade NAT or unique-local address, a single-label name (a compose service such as
 * `whisper`) or a local-only domain. Anything else is taken for a public service.
 */
export function isPrivateNetworkHost(hostname: string): boolean {
  const host = bare(hostname);
  const range = rangeOf(host);
  if (range !== null) return PRIVATE_RANGES.has(range);
  if (!host.includes('.')) return true;
  return /\.(localhost|local|internal|lan|home\.arpa|svc|cluster\.local)$/.test(host);
}
