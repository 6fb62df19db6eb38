/**
 * `npm run eval:insights`: the heuristic extractor against the labelled corpus.
 *
 *   --show tune        also list every mistake on the tuning part (or held-out, deliberately)
 *   --json             print the figures as JSON instead of tables
 *   --check            exit 1 when a part misses a floor of floors.ts (CI)
 */
import { parseArgs } from 'node:util';
import { createHeuristicExtractor } from '../src/heuristic-extractor.ts';
import { SPLITS, type Split } from './corpus.ts';
import { evaluateExtractor } from './evaluate.ts';
import { FLOORS, missedFloors } from './floors.ts';
import { formatReport } from './report.ts';

const { values } = parseArgs({
  options: {
    show: { type: 'string', multiple: true, default: [] },
    json: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
  },
});
const show = values.show as string[];
for (const s of show) {
  if (!SPLITS.includes(s as Split)) {
    console.error(`--show must be one of ${SPLITS.join(', ')}, not ${JSON.stringify(s)}`);
    process.exit(2);
  }
}

const evaluation = await evaluateExtractor(createHeuristicExtractor());
if (values.json) {
  const strip = ({ mistakes: _, ...m }: (typeof evaluation)['all']) => m;
  console.log(
    JSON.stringify(
      {
        model: evaluation.model,
        runtime_ms: Math.round(evaluation.runtimeMs),
        tune: strip(evaluation.bySplit.tune),
        held_out: strip(evaluation.bySplit['held-out']),
        all: strip(evaluation.all),
      },
      null,
      2,
    ),
  );
} else {
  console.log(formatReport({ ...evaluation, show: show as Split[] }));
}

if (values.check) {
  const missed = SPLITS.flatMap((s) => missedFloors(evaluation.bySplit[s], FLOORS[s]).map((m) => `${s}: ${m}`));
  if (missed.length > 0) {
    console.error(`\nBelow the floors of eval/floors.ts:\n  ${missed.join('\n  ')}`);
    process.exit(1);
  }
  console.log('\nAll floors met (eval/floors.ts).');
}
