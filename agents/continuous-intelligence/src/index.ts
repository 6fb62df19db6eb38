/**
 * continuous-intelligence: extracts intent, sentiment, urgency, action items, dates, people and
 * companies from new emails, with per-task LLM cost and a monthly budget per workspace.
 */
import { defineAgent, PermanentError } from '@fleet/runtime';
import { buildDeps } from './deps.ts';
import { envShape, refineIntelligenceEnv } from './env.ts';
import { runIntelligenceUpdate, WorkspaceNotFoundError } from './run-update.ts';

export default defineAgent({
  name: 'continuous-intelligence',
  queue: 'continuous_intelligence_queue',
  // Each run walks whole workspaces and calls the LLM for up to a batch of emails at once.
  concurrency: 2,
  env: envShape,
  refineEnv: refineIntelligenceEnv,
  setup: ({ env, log }) => buildDeps(env, log),
  handlers: {
    async continuous_intelligence_update(payload, ctx) {
      try {
        return await runIntelligenceUpdate(payload, ctx.deps, ctx);
      } catch (err) {
        if (err instanceof WorkspaceNotFoundError) throw new PermanentError(err.message);
        throw err;
      }
    },
  },
});
