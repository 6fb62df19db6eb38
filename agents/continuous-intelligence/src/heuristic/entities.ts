/**
 * People and companies named in an email: the sender, the greeted person, the signature, people
 * looped in, addresses in the text, legal-suffix company names and the sender's business domain.
 */
import type { Company, Person } from '../insight.ts';

const NAME = "[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?";
const FULL_NAME = `${NAME}(?: ${NAME}){1,2}`;

/** Words that look like names at the start of a greeting but are not people. */
const NOT_NAMES = new Set([
  'team',
  'all',
  'there',
  'everyone',
  'folks',
  'guys',
  'sir',
  'madam',
  'support',
  'sales',
  'friends',
  'hello',
  'again',
]);
const WEEKDAYS_MONTHS =
  /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|March|April|June|July|August|September|October|November|December)$/;

/** Mailbox providers: their domain says nothing about the sender's company. */
export const FREE_MAIL = new Set([
  'gmail.com',
  'googlemail.com',
  'yahoo.com',
  'yahoo.co.uk',
  'hotmail.com',
  'outlook.com',
  'live.com',
  'msn.com',
  'icloud.com',
  'me.com',
  'mac.com',
  'aol.com',
  'proton.me',
  'protonmail.com',
  'gmx.com',
  'gmx.de',
  'web.de',
  'mail.com',
  'yandex.com',
  'zoho.com',
  'fastmail.com',
  'hey.com',
]);
const ROLE_LOCALS =
  /^(no-?reply|do-?not-?reply|support|info|sales|billing|hello|contact|admin|team|help|notifications?|mailer-daemon|postmaster|ops|operations|accounts|finance|hr|marketing|office|careers|jobs)$/i;

const COMPANY_SUFFIX =
  /\b((?:[A-Z][A-Za-z0-9&'-]*|&)(?: (?:[A-Z][A-Za-z0-9&'-]*|&)){0,3}),? (Inc|LLC|Ltd|Limited|GmbH|Corp|Corporation|Co|AG|SA|SAS|BV|PLC|Pty Ltd|Technologies|Labs|Group|Systems|Solutions|Software|Holdings|Industries)\b\.?/g;
const TITLE_AT_COMPANY =
  /\b(?:CEO|CTO|CFO|COO|VP|Head|Director|Manager|Lead|Founder|Co-founder|Engineer|Partner|President|Officer|Specialist)\b[^,\n]*?\b(?:at|@) ([A-Z][A-Za-z0-9&]+(?: [A-Z][A-Za-z0-9&]+){0,2})/;
const EMAIL = /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b/g;

/** "jane.doe" → "Jane Doe" */
function nameFromLocalPart(local: string): string | null {
  if (ROLE_LOCALS.test(local)) return null;
  const parts = local.split(/[._-]+/).filter((p) => /^[a-z]{2,}$/i.test(p));
  if (parts.length < 2) return null;
  return parts.map((p) => p[0]!.toUpperCase() + p.slice(1).toLowerCase()).join(' ');
}

/** "acme-robotics.co.uk" → "Acme Robotics" */
export function companyFromDomain(domain: string): string {
  const labels = domain.toLowerCase().split('.');
  // Skip second-level public suffixes like co.uk / com.au.
  const idx =
    labels.length >= 3 && /^(co|com|org|net|ac|gov)$/.test(labels[labels.length - 2]!)
      ? labels.length - 3
      : labels.length - 2;
  const label = labels[Math.max(0, idx)] ?? domain;
  return label
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join(' ');
}

function domainOf(address: string): string | null {
  const at = address.lastIndexOf('@');
  return at === -1 ? null : address.slice(at + 1).toLowerCase();
}

export interface EntityInput {
  direction: 'inbound' | 'outbound';
  fromAddress: string;
  fromName: string | null;
  toAddresses: string[];
  main: string;
  signature: string[];
}

export function extractPeople(e: EntityInput): Person[] {
  const people = new Map<string, Person>();
  const add = (name: string | null, email: string | null, role: string | null) => {
    const clean = name?.replace(/\s+/g, ' ').trim();
    if (!clean || WEEKDAYS_MONTHS.test(clean.split(' ')[0]!)) return;
    const key = clean.toLowerCase();
    const prev = people.get(key);
    if (prev) {
      people.set(key, { name: prev.name, email: prev.email ?? email, role: prev.role ?? role });
    } else people.set(key, { name: clean, email, role });
  };

  // The sender.
  const senderLocal = e.fromAddress.split('@')[0] ?? '';
  const senderName =
    e.fromName && !ROLE_LOCALS.test(senderLocal) && /^[A-Z][\p{L}'-]+( [A-Z][\p{L}'-]+)*$/u.test(e.fromName.trim())
      ? e.fromName.trim()
      : ((e.signature[0] && new RegExp(`^${FULL_NAME}$`).test(e.signature[0]) ? e.signature[0] : null) ??
        nameFromLocalPart(senderLocal));
  const sigTitle =
    e.signature[1] && !EMAIL.test(e.signature[1]) && !/\d{3}/.test(e.signature[1]) ? e.signature[1] : null;
  EMAIL.lastIndex = 0;
  if (senderName) add(senderName, e.fromAddress.toLowerCase(), sigTitle ?? 'sender');

  // The greeted person.
  const greeting = new RegExp(
    `^\\s*(?:hi|hello|hey|dear|morning|good (?:morning|afternoon|evening))\\s+(${NAME}(?: ${NAME})?)\\s*[,!:]`,
    'im',
  ).exec(e.main);
  if (greeting?.[1] && !NOT_NAMES.has(greeting[1].toLowerCase())) add(greeting[1], null, 'recipient');

  // People looped in or introduced.
  const mention = new RegExp(
    `\\b(?:cc(?:'?ing|'d)?|loop(?:ing)? in|introduce you to|meet|my colleague|our (?:CEO|CTO|CFO|COO|founder|head of \\w+)|spoke (?:with|to)|talked to|ask)\\s+(${FULL_NAME})`,
    'g',
  );
  for (const m of e.main.matchAll(mention)) add(m[1]!, null, null);

  // Addresses written in the text.
  for (const m of `${e.main}\n${e.signature.join('\n')}`.matchAll(EMAIL)) {
    const address = m[0].toLowerCase();
    if (address === e.fromAddress.toLowerCase()) continue;
    const name = nameFromLocalPart(address.split('@')[0]!);
    if (name) add(name, address, null);
  }
  return [...people.values()].slice(0, 30);
}

export function extractCompanies(e: EntityInput): Company[] {
  const companies = new Map<string, Company>();
  const add = (name: string, domain: string | null) => {
    const clean = name.replace(/\s+/g, ' ').trim();
    if (clean.length < 2) return;
    const key = clean
      .toLowerCase()
      .replace(/[,.]|\b(inc|llc|ltd|gmbh|corp|co)\b/g, '')
      .trim();
    const prev = [...companies.entries()].find(
      ([k]) => k === key || (domain !== null && companies.get(k)?.domain === domain),
    );
    if (prev) {
      if (!prev[1].domain && domain) companies.set(prev[0], { ...prev[1], domain });
      return;
    }
    companies.set(key, { name: clean, domain });
  };

  const text = `${e.main}\n${e.signature.join('\n')}`;
  for (const m of text.matchAll(COMPANY_SUFFIX)) add(`${m[1]} ${m[2]}`, null);
  for (const line of e.signature) {
    const m = TITLE_AT_COMPANY.exec(line);
    if (m?.[1]) add(m[1], null);
  }
  // The other party's business domain (inbound: the sender; outbound: the recipients).
  const addresses = e.direction === 'inbound' ? [e.fromAddress] : e.toAddresses;
  for (const address of addresses) {
    const domain = domainOf(address);
    if (!domain || FREE_MAIL.has(domain)) continue;
    const guess = companyFromDomain(domain);
    // Attach the domain to a company already named in the text when they match.
    const squash = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
    const named = [...companies.entries()].find(
      ([, c]) =>
        squash(c.name).startsWith(squash(guess)) || squash(guess).startsWith(squash(c.name.split(' ')[0] ?? '')),
    );
    if (named) companies.set(named[0], { ...named[1], domain: named[1].domain ?? domain });
    else add(guess, domain);
  }
  return [...companies.values()].slice(0, 30);
}
