/**
 * Resolving a host that someone else chose (a payload, a row) and judging every address it
 * resolves to before anything connects: the one check behind safe fetching and the IMAP
 * connections. The caller connects to the address returned, never to the name again, so a name
 * that answers differently the second time (DNS rebinding) cannot slip through.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { type Allowlist, judgeAddress, type Refusal } from './address-rules.ts';

/** Resolves a host name to every address it has (dns.lookup with `all: true` by default). */
export type LookupAll = (hostname: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;

const defaultLookup: LookupAll = (hostname) => dnsLookup(hostname, { all: true });

/** A host whose address the rules refuse. */
export class RefusedAddressError extends Error {
  override name = 'RefusedAddressError';
  constructor(
    readonly host: string,
    readonly refusal: Refusal,
  ) {
    super(`${host}: ${refusal.address} is ${refusal.words}`);
  }
}

/**
 * The address to connect to: the first the host resolves to, once every one has been judged.
 * Throws RefusedAddressError for the first refused one.
 */
export async function checkedAddress(
  host: string,
  allow: Allowlist | undefined,
  lookup: LookupAll = defaultLookup,
): Promise<string> {
  const bare = host.replace(/^\[|\]$/g, '');
  const addresses = isIP(bare) ? [bare] : (await lookup(bare)).map((a) => a.address);
  if (addresses.length === 0) throw new Error(`${host} resolves to no address`);
  for (const address of addresses) {
    const refusal = judgeAddress(bare, address, allow);
    if (refusal) throw new RefusedAddressError(host, refusal);
  }
  return addresses[0]!;
}

/** What was refused and how to open it, naming the setting that holds the allowlist. */
export function explainRefusal({ host, refusal }: RefusedAddressError, allowVariable: string): string {
  const literal = isIP(host.replace(/^\[|\]$/g, '')) !== 0;
  const what =
    refusal.rule === 'allowlist'
      ? literal
        ? `${refusal.address} is not in ${allowVariable}`
        : `${host} is not in ${allowVariable} and its address ${refusal.address} is in none of its CIDRs`
      : literal
        ? `${refusal.address} is ${refusal.words}`
        : `${host} resolves to ${refusal.address}, ${refusal.words}`;
  const fix =
    refusal.rule === 'allowlist'
      ? `add the host, or a CIDR of its address, to ${allowVariable} to open it`
      : `${allowVariable} opens the host names and CIDRs it lists (and then only those)`;
  return `${what} (rule: ${refusal.rule}); ${fix}`;
}
