/**
 * Cues about when and whether something happens, read from the words around it: is a clause
 * about the past ("we wrapped up the pilot on Wednesday"), is a phrase negated ("please don't
 * cancel"), is a promise conditional ("if anything changes, I'll reach out"). Plain word lists,
 * deliberately small: each one is a rule a reader can check.
 */

/** Verbs and phrases that put a clause in the past. */
const PAST =
  /\b(yesterday|ago|earlier|already|was|wasn'?t|were|weren'?t|went|had|hadn'?t|did|didn'?t|couldn'?t|could not|got|sent|met|saw|came|took|made|chose|ran|paid|left|spoke|told|said|gave|began|broke|froze|thought|brought|bought|found|heard|won|lost|wrote|forgot|overnight)\b|\b(thanks|thank you|appreciate) (again )?(for )?(the|your|our|all)\b|\b(great|nice|good|lovely|a pleasure) (meeting|talking|speaking|chatting|seeing|showing)\b|\bit was a pleasure\b|\bfollowing up on (our|the|my|your)\b|\bas promised\b/i;
/** Regular past forms, minus the -ed words that are mostly adjectives or ask for the future. */
const ED = /\b([a-z]{3,}ed)\b/gi;
const ED_NOT_PAST = new Set([
  'interested',
  'wanted',
  'attached',
  'scheduled',
  'needed',
  'based',
  'required',
  'expected',
  'excited',
  'pleased',
  'concerned',
  'involved',
  'used',
  'supposed',
  'planned',
  'reserved',
  'dedicated',
  'limited',
  'detailed',
  'automated',
  'advanced',
  'unlimited',
  'shortlisted',
  'integrated',
  'revised',
  'updated',
  'corrected',
  'blocked',
  'frustrated',
  'disappointed',
  'annoyed',
  'impressed',
  'tired',
  'red',
  'need',
  'feed',
  'speed',
  'indeed',
  'proceed',
  'succeed',
  'exceed',
]);
/** Words that point a clause at the future (or at a request, which is about the future). */
const FUTURE =
  /\b(will|'ll|shall|going to|gonna|plan(ning)? to|would|could we|could you|can we|can you|let'?s|want to|like to|need to|needs to|hope to|looking forward|next|upcoming|coming|until|till|tomorrow|tonight)\b|\?/i;
/** "is closed", "are attached": a form of "to be" before an -ed word makes it present. */
const PASSIVE = /\b(is|are|am|be|been|being|gets?|getting)\s+$/i;

/** The tense a piece of text leans to, or null when it says nothing either way. */
export function tenseOf(text: string): 'past' | 'future' | null {
  if (FUTURE.test(text)) return 'future';
  if (PAST.test(text)) return 'past';
  for (const m of text.matchAll(ED)) {
    if (ED_NOT_PAST.has(m[1]!.toLowerCase())) continue;
    if (PASSIVE.test(text.slice(0, m.index))) continue;
    return 'past';
  }
  return null;
}

/**
 * Is the clause about the past? A clause with no cue of its own ("the team around on Tuesday")
 * takes the tense of its whole sentence ("It was a pleasure showing you and the team around…").
 */
export function isPastClause(clause: string, sentence = clause): boolean {
  const own = tenseOf(clause);
  if (own !== null) return own === 'past';
  // A clause with its own subject and no past cue is in the present ("they start on Monday").
  if (/^\s*(i|we|you|they|he|she|it|this|that|who|which)\s+(?!was|were|had|did)\w+/i.test(clause)) return false;
  return tenseOf(sentence) === 'past';
}

/**
 * The clause of `sentence` that holds character `index`: sentences are cut at "and", "but",
 * "so", "because", "while" and semicolons, which is where tense usually changes ("Something came
 * up and I can't make Monday").
 */
export function clauseAt(sentence: string, index: number): string {
  const cuts = [0];
  for (const m of sentence.matchAll(
    /[;,]?\s+(?:and|but|so|because|while|or)\s+|[;:]\s*|,\s+(?=(?:who|which|since)\s)/gi,
  )) {
    cuts.push(m.index! + m[0].length);
  }
  let start = 0;
  for (const c of cuts) if (c <= index) start = c;
  const next = cuts.find((c) => c > index);
  return sentence.slice(start, next ?? sentence.length);
}

const NEGATOR =
  /\b(not|no|never|don'?t|doesn'?t|didn'?t|won'?t|wouldn'?t|isn'?t|aren'?t|wasn'?t|haven'?t|hasn'?t|cannot|can'?t|nothing|without)\b/i;

/** Is the match at `index` negated by a negator a few words before it ("please don't cancel")? */
export function isNegatedAt(text: string, index: number, words = 4): boolean {
  const before =
    text
      .slice(0, index)
      .split(/[.!?;\n]/)
      .pop() ?? '';
  const tail = before.trim().split(/\s+/).slice(-words).join(' ');
  return NEGATOR.test(tail);
}

/** A clause that only holds if something else happens first ("if anything changes, …"). */
export function isConditional(clause: string): boolean {
  return /^\s*(if|once|when|whenever|unless|in case|should|as soon as)\b/i.test(clause);
}
