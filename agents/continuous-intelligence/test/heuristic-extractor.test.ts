import { describe, expect, it } from 'vitest';
import { extractHeuristic } from '../src/heuristic-extractor.ts';
import type { EmailForExtraction } from '../src/insight.ts';

// Tuesday 10 March 2026, 11:00 in New York (EDT, UTC-4).
const SENT = new Date('2026-03-10T15:00:00Z');

function mail(partial: Partial<EmailForExtraction>): EmailForExtraction {
  return {
    id: '00000000-0000-4000-8000-000000000000',
    direction: 'inbound',
    fromAddress: 'someone@example.com',
    fromName: null,
    toAddresses: ['tom@ourco.com'],
    subject: null,
    bodyText: null,
    snippet: null,
    sentAt: SENT,
    timezone: 'America/New_York',
    ...partial,
  };
}

interface Case {
  name: string;
  email: Partial<EmailForExtraction>;
  intent: string;
  dates?: string[];
  urgency?: 'low' | 'medium' | 'high';
  sentiment?: 'positive' | 'neutral' | 'negative';
}

const CASES: Case[] = [
  {
    name: 'meeting request with a day and time',
    email: {
      fromAddress: 'sarah.chen@acme-robotics.com',
      fromName: 'Sarah Chen',
      subject: 'Quick call next week?',
      bodyText:
        "Hi Tom,\n\nWould you be free for a 30 minute call next Tuesday at 2pm? I'd like to go over our rollout plan. Could you send over a calendar invite?\n\nBest,\nSarah Chen\nVP Operations at Acme Robotics\n+1 415 555 0100",
    },
    intent: 'meeting_request',
    dates: ['2026-03-17 14:00'],
    urgency: 'medium',
  },
  {
    name: 'pricing inquiry with a deadline',
    email: {
      fromAddress: 'j.doe@gmail.com',
      fromName: 'John Doe',
      subject: 'Pricing for 50 seats',
      bodyText:
        'Hello,\n\nHow much does the Pro plan cost per seat for a team of 50? Do you offer an annual discount? We need a quote by Friday.\n\nThanks,\nJohn',
    },
    intent: 'pricing_inquiry',
    dates: ['2026-03-13'],
    urgency: 'medium',
  },
  {
    name: 'support issue, urgent',
    email: {
      fromAddress: 'ops@globex.io',
      subject: 'URGENT: exports not working',
      bodyText:
        'Our CSV exports stopped working this morning and we get a 500 error. This is blocking our month-end close. Please fix ASAP.',
    },
    intent: 'support_issue',
    dates: ['2026-03-10'],
    urgency: 'high',
    sentiment: 'negative',
  },
  {
    name: 'unsubscribe request',
    email: {
      fromAddress: 'mark@initech.com',
      fromName: 'Mark Smith',
      subject: 'Re: March product newsletter',
      bodyText: 'Please unsubscribe me from this list. I no longer wish to receive these emails.',
    },
    intent: 'unsubscribe',
    dates: [],
  },
  {
    name: 'out of office auto-reply',
    email: {
      fromAddress: 'lisa@hooli.com',
      fromName: 'Lisa Park',
      subject: 'Automatic reply: Proposal',
      bodyText:
        'I am out of the office until March 17 with limited access to email. For urgent matters please contact my colleague Dan Brown at dan.brown@hooli.com.',
    },
    intent: 'out_of_office',
    dates: ['2026-03-17'],
    urgency: 'low',
  },
  {
    name: 'complaint threatening cancellation',
    email: {
      fromAddress: 'amy@umbrella.co.uk',
      fromName: 'Amy Lee',
      subject: 'Very disappointed',
      bodyText:
        "Hi,\n\nThis is the third time the sync failed this week. Frankly this is unacceptable and I'm really frustrated. If it isn't resolved by tomorrow we will cancel our subscription.\n\nAmy",
    },
    intent: 'complaint',
    dates: ['2026-03-11'],
    urgency: 'high',
    sentiment: 'negative',
  },
  {
    name: 'cancellation of a renewal',
    email: {
      fromAddress: 'finance@wayne-enterprises.com',
      subject: 'Contract renewal',
      bodyText:
        'Hello, we have decided not to renew and would like to cancel our subscription at the end of the current term on April 30, 2026. Please confirm in writing.',
    },
    intent: 'cancellation',
    dates: ['2026-04-30'],
  },
  {
    name: 'demo request',
    email: {
      fromAddress: 'priya@stark-industries.com',
      fromName: 'Priya Patel',
      subject: 'Demo for our analytics team',
      bodyText:
        'Hi there, we are evaluating tools for our analytics team. Could we get a demo on Thursday, March 12 at 10:30am? Our CTO Mike Ross will join.',
    },
    intent: 'demo_request',
    dates: ['2026-03-12 10:30'],
  },
  {
    name: 'ready to buy',
    email: {
      fromAddress: 'ben@cyberdyne.com',
      subject: 'Re: Proposal',
      bodyText:
        'Great news, budget is approved and we are ready to move forward. Please send over the contract and the order form so we can sign it this week. Excited to get started!',
    },
    intent: 'purchase_intent',
    sentiment: 'positive',
  },
  {
    name: 'billing question',
    email: {
      fromAddress: 'ap@soylent.com',
      subject: 'Invoice INV-2291 charged twice',
      bodyText:
        'It looks like we were double charged for invoice INV-2291. Can you issue a refund for the duplicate payment?',
    },
    intent: 'billing',
  },
  {
    name: 'follow-up nudge',
    email: {
      fromAddress: 'kate@vandelay.com',
      subject: 'Following up',
      bodyText:
        "Hi Tom, just following up on my note from last week. Any update on the proposal? I'll call you tomorrow at 9am if that works.",
    },
    intent: 'follow_up',
    dates: ['2026-03-11 09:00'],
  },
  {
    name: 'partnership proposal',
    email: {
      fromAddress: 'alex@initrode.com',
      subject: 'Partnership opportunity',
      bodyText:
        'Hello, I lead alliances at Initrode Technologies. We would love to explore a partnership and a co-marketing campaign with your team.',
    },
    intent: 'partnership',
  },
  {
    name: 'a plain note with no request',
    email: {
      fromAddress: 'sam@example.org',
      subject: 'Photos from the offsite',
      bodyText: 'Sharing the photos from the offsite, enjoy.',
    },
    intent: 'other',
    dates: [],
    urgency: 'low',
  },
];

describe('heuristic extractor on real-looking emails', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const insight = extractHeuristic(mail(c.email));
      expect(insight.intent).toBe(c.intent);
      expect(insight.intents).toContain(c.intent);
      if (c.dates) {
        expect(insight.mentioned_dates.map((d) => (d.time ? `${d.date} ${d.time}` : d.date))).toEqual(c.dates);
      }
      if (c.urgency) expect(insight.urgency).toBe(c.urgency);
      if (c.sentiment) expect(insight.sentiment).toBe(c.sentiment);
    });
  }

  it('extracts action items with owners from our point of view and due dates', () => {
    // "We need a quote by Friday": a need stated to us is ours to meet.
    const inbound = extractHeuristic(mail(CASES[1]!.email));
    expect(inbound.action_items).toEqual([
      { description: 'We need a quote by Friday.', owner: 'us', due_date: '2026-03-13' },
    ]);
    const demo = extractHeuristic(mail(CASES[0]!.email));
    expect(demo.action_items).toEqual([
      { description: 'Could you send over a calendar invite?', owner: 'us', due_date: null },
    ]);
    const followUp = extractHeuristic(mail(CASES[10]!.email));
    expect(followUp.action_items).toContainEqual({
      description: "I'll call you tomorrow at 9am if that works.",
      owner: 'them',
      due_date: '2026-03-11',
    });
    // The same commitment written by us is ours.
    const outbound = extractHeuristic(mail({ ...CASES[10]!.email, direction: 'outbound' }));
    expect(outbound.action_items.find((a) => a.description.startsWith("I'll call"))?.owner).toBe('us');
  });

  it('finds people and companies from the signature, the text and the sender domain', () => {
    const x = extractHeuristic(mail(CASES[0]!.email));
    expect(x.people).toContainEqual({
      name: 'Sarah Chen',
      email: 'sarah.chen@acme-robotics.com',
      role: 'VP Operations at Acme Robotics',
    });
    expect(x.people.map((p) => p.name)).toContain('Tom');
    expect(x.companies).toEqual([{ name: 'Acme Robotics', domain: 'acme-robotics.com' }]);

    const ooo = extractHeuristic(mail(CASES[4]!.email));
    expect(ooo.people).toContainEqual({ name: 'Dan Brown', email: 'dan.brown@hooli.com', role: null });

    const partner = extractHeuristic(mail(CASES[11]!.email));
    expect(partner.companies).toEqual([{ name: 'Initrode Technologies', domain: 'initrode.com' }]);

    // A free-mail sender says nothing about a company.
    expect(extractHeuristic(mail(CASES[1]!.email)).companies).toEqual([]);
  });

  it('reads relative dates in the workspace time zone', () => {
    // 02:00 UTC on 11 March is still 10 March in Los Angeles: "tomorrow" is the 11th there.
    const late = new Date('2026-03-11T02:00:00Z');
    const body = 'Can we talk tomorrow at 4pm?';
    const la = extractHeuristic(mail({ bodyText: body, sentAt: late, timezone: 'America/Los_Angeles' }));
    const tokyo = extractHeuristic(mail({ bodyText: body, sentAt: late, timezone: 'Asia/Tokyo' }));
    expect(la.mentioned_dates).toEqual([{ text: 'tomorrow at 4pm', date: '2026-03-11', time: '16:00' }]);
    expect(tokyo.mentioned_dates).toEqual([{ text: 'tomorrow at 4pm', date: '2026-03-12', time: '16:00' }]);
  });

  it('reads weekdays and yearless dates from their context', () => {
    // SENT is Tuesday 10 March 2026.
    const days = (bodyText: string) => extractHeuristic(mail({ bodyText })).mentioned_dates.map((d) => d.date);
    expect(days('The import failed on Sunday night.')).toEqual(['2026-03-08']);
    expect(days('We run the import on Sunday.')).toEqual(['2026-03-15']);
    expect(days('Can you send it by Tuesday?')).toEqual(['2026-03-17']);
    expect(days('Our board met last Thursday.')).toEqual(['2026-03-05']);
    expect(days('Could we meet next week? Monday or Wednesday works.')).toEqual(['2026-03-16', '2026-03-18']);
    expect(days('The invoice was due on February 27.')).toEqual(['2026-02-27']);
    expect(days("We're back on September 4.")).toEqual(['2026-09-04']);
    expect(days('Can you reply by the end of the week?')).toEqual(['2026-03-13']);
    expect(days("I'm away from March 20 to March 24, and free on April 2 or 3.")).toEqual([
      '2026-03-20',
      '2026-03-24',
      '2026-04-02',
      '2026-04-03',
    ]);
    expect(days('It costs $1,450 at 1 seat per user, billed in two weeks.')).toEqual([]);
  });

  it('ignores mailing-list footers and quoted history', () => {
    const x = extractHeuristic(
      mail({
        subject: 'Re: webinar',
        bodyText:
          'Thanks, the recording was really helpful!\n\nOn Mon, Mar 9, 2026 at 9:00 AM Events <events@vendor.com> wrote:\n> Our pricing webinar is on March 20.\n> Click here to unsubscribe.',
      }),
    );
    expect(x.intent).not.toBe('unsubscribe');
    expect(x.intents).not.toContain('pricing_inquiry');
    expect(x.mentioned_dates).toEqual([]);
    expect(x.sentiment).toBe('positive');
  });

  it('is deterministic', () => {
    const e = mail(CASES[5]!.email);
    expect(extractHeuristic(e)).toEqual(extractHeuristic(e));
  });
});
