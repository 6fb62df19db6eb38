/**
 * Seniority from a free-text job title. The levels are checked from the most junior marker up,
 * because a junior marker qualifies the rest of the title ("Intern to the CEO", "Assistant
 * Director" is not a director), and the first level that matches wins.
 */
export type SeniorityLevel = 'executive' | 'vp_director' | 'manager' | 'senior' | 'individual' | 'junior' | 'unknown';

/** Factor value of each level (0-1). `unknown` is a title we could not place; no title scores 0. */
export const SENIORITY_VALUES: Record<SeniorityLevel, number> = {
  executive: 1,
  vp_director: 0.8,
  manager: 0.6,
  senior: 0.4,
  individual: 0.3,
  junior: 0.1,
  unknown: 0.2,
};

const PATTERNS: Array<[SeniorityLevel, RegExp]> = [
  ['junior', /\b(intern|internship|trainee|apprentice|student|junior|jr|assistant|graduate)\b/],
  [
    'executive',
    /\b(ceo|cto|cfo|coo|cmo|cio|ciso|cro|cpo|chief|founder|co-?founder|owner|president|partner|managing director|md|general manager|board member|chair(man|woman|person)?)\b/,
  ],
  ['vp_director', /\b(vp|svp|evp|avp|vice president|head|director|dir)\b/],
  ['manager', /\b(manager|mgr|lead|principal|supervisor|team lead)\b/],
  ['senior', /\b(senior|sr|staff|specialist|consultant|architect)\b/],
  [
    'individual',
    /\b(engineer|developer|analyst|designer|associate|representative|rep|coordinator|officer|accountant|scientist|administrator|executive|agent|recruiter|marketer|writer)\b/,
  ],
];

/** The seniority level a title suggests; `null` when there is no title at all. */
export function seniorityOf(title: string | null | undefined): SeniorityLevel | null {
  if (title == null) return null;
  const t = title
    .toLowerCase()
    .replace(/[.,/&()|]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (t === '') return null;
  for (const [level, pattern] of PATTERNS) {
    if (pattern.test(t)) return level;
  }
  return 'unknown';
}
