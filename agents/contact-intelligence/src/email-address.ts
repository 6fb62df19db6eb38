/**
 * What an email address says without asking anyone: its organisation's domain, a guess at the
 * company name, and whether it is a free-mail or a role (shared) mailbox.
 */
import { DOMAINS as FREE_MAIL_DOMAINS } from 'free-email-domains-list';
import { parse } from 'tldts';
import { titleCase } from './name-parts.ts';

/**
 * Local parts of shared mailboxes: mail to them reaches a team or a robot, not a person, so they
 * are never scored as a person's engagement signal and are not worth a paid person lookup.
 */
export const ROLE_LOCAL_PARTS = new Set([
  'abuse',
  'accounting',
  'accounts',
  'admin',
  'administrator',
  'billing',
  'bookings',
  'careers',
  'contact',
  'contactus',
  'customerservice',
  'dev',
  'enquiries',
  'enquiry',
  'feedback',
  'finance',
  'hello',
  'help',
  'helpdesk',
  'hi',
  'hostmaster',
  'hr',
  'info',
  'inquiries',
  'inquiry',
  'invoices',
  'it',
  'jobs',
  'legal',
  'mail',
  'mailer-daemon',
  'marketing',
  'media',
  'news',
  'newsletter',
  'no-reply',
  'noreply',
  'notifications',
  'office',
  'orders',
  'postmaster',
  'press',
  'privacy',
  'recruiting',
  'reservations',
  'root',
  'sales',
  'security',
  'service',
  'support',
  'team',
  'webmaster',
]);

export interface AddressFacts {
  localPart: string;
  /** The host part as written, lower-cased. */
  host: string;
  isFreeMail: boolean;
  isRoleAddress: boolean;
  /** The registrable domain (mail.acme.co.uk → acme.co.uk); null for free mail and unusable hosts. */
  companyDomain: string | null;
  /** "acme-corp.co.uk" → "Acme Corp"; null whenever companyDomain is. */
  companyGuess: string | null;
}

/** Facts about one address; null when it is not an address at all. */
export function addressFacts(email: string): AddressFacts | null {
  const trimmed = email.trim().toLowerCase();
  const at = trimmed.lastIndexOf('@');
  if (at <= 0 || at === trimmed.length - 1) return null;
  const localPart = trimmed.slice(0, at);
  const host = trimmed.slice(at + 1);
  const parsed = parse(host);
  const registrable = parsed.isIp ? null : parsed.domain;
  const isFreeMail = FREE_MAIL_DOMAINS.has(host) || (registrable !== null && FREE_MAIL_DOMAINS.has(registrable));
  const isRoleAddress = ROLE_LOCAL_PARTS.has(localPart.split('+')[0]!);
  const companyDomain = isFreeMail ? null : registrable;
  const companyGuess =
    companyDomain && parsed.domainWithoutSuffix
      ? parsed.domainWithoutSuffix
          .split(/[-_.]+/)
          .filter(Boolean)
          .map((w) => titleCase(w))
          .join(' ')
      : null;
  return { localPart, host, isFreeMail, isRoleAddress, companyDomain, companyGuess: companyGuess || null };
}
