/**
 * One continuous_intelligence_update run: for each target workspace, lease unprocessed emails in
 * batches, extract an insight from each (LLM while the monthly budget allows, heuristic
 * otherwise), store it and mark the email processed in one transaction, and add up the cost.
 */
import type { Database, JsonObject } from '@fleet/db';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { ProviderUnavailableError } from './anthropic-extractor.ts';
import { budgetOf, monthSpentUsd } from './budget.ts';
import {
  type ClaimedEmail,
  claimEmails,
  countGivenUp,
  listTargetWorkspaces,
  markFailed,
  releaseClaims,
  saveInsight,
  type TargetWorkspace,
  workspaceExists,
} from './email-store.ts';
import {
  addUsage,
  type EmailForExtraction,
  type Extraction,
  type Extractor,
  type TokenUsage,
  ZERO_USAGE,
} from './insight.ts';
import { roundUsd } from './pricing.ts';

export interface IntelligenceDeps {
  /** The LLM extractor; null when no API key is configured. */
  llm: Extractor | null;
  heuristic: Extractor;
  /** Monthly budget per workspace when its settings name none. */
  defaultMonthlyBudgetUsd: number;
  /** How long a claimed email stays reserved for this run. */
  leaseMs: number;
  /** Failed extractions after which an email is no longer retried. */
  maxAttempts: number;
}

export interface RunPayload {
  workspace_id?: string | undefined;
  batch_size: number;
  max_emails: number;
}

export interface RunContext {
  db: Kysely<Database>;
  log: Logger;
  signal: AbortSignal;
  progress?: (value: number | JsonObject) => Promise<void>;
}

export interface RunResult {
  output: JsonObject;
  costUsd: number;
  status: 'completed' | 'partial_failure';
  error?: string;
}

/** Per-email lines kept in output_data; beyond this only the totals are kept. */
const MAX_EMAIL_LINES = 500;

/** A workspace named in the payload that does not exist; not worth retrying. */
export class WorkspaceNotFoundError extends Error {
  override name = 'WorkspaceNotFoundError';
}

interface WorkspaceTally {
  extractor: 'anthropic' | 'heuristic';
  emails: number;
  insights: number;
  failed: number;
  deferred: number;
  cost_usd: number;
  budget_usd: number;
  budget_source: 'workspace' | 'default';
  month_spent_usd: number;
  switched_to_heuristic: boolean;
  gave_up: number;
}

export async function runIntelligenceUpdate(
  payload: RunPayload,
  deps: IntelligenceDeps,
  ctx: RunContext,
): Promise<RunResult> {
  const { db, log, signal } = ctx;
  if (payload.workspace_id) {
    const ws = await workspaceExists(db, payload.workspace_id);
    if (!ws) throw new WorkspaceNotFoundError(`workspace_id ${payload.workspace_id} does not exist`);
  }
  const workspaces = await listTargetWorkspaces(db, payload.workspace_id);
  if (payload.workspace_id && workspaces.length === 0)
    log.info({ workspaceId: payload.workspace_id }, 'workspace is inactive; nothing to do');

  let usage: TokenUsage = ZERO_USAGE;
  let totalCost = 0;
  let providerError: string | null = null;
  const perWorkspace: Record<string, WorkspaceTally> = {};
  const emailLines: JsonObject[] = [];
  const failures: JsonObject[] = [];
  const budgetSwitches: JsonObject[] = [];
  const counts = { emails: 0, insights: 0, failed: 0, deferred: 0 };

  for (const ws of workspaces) {
    if (signal.aborted) throw signal.reason;
    const budget = budgetOf(ws.settings, deps.defaultMonthlyBudgetUsd);
    if (budget.problem) log.warn({ workspaceId: ws.id, problem: budget.problem }, 'workspace budget setting ignored');
    const spent = deps.llm ? await monthSpentUsd(db, ws.id) : 0;
    const tally: WorkspaceTally = {
      extractor: deps.llm ? 'anthropic' : 'heuristic',
      emails: 0,
      insights: 0,
      failed: 0,
      deferred: 0,
      cost_usd: 0,
      budget_usd: budget.limitUsd,
      budget_source: budget.source,
      month_spent_usd: roundUsd(spent),
      switched_to_heuristic: false,
      gave_up: 0,
    };
    perWorkspace[ws.id] = tally;
    const wsLog = log.child({ workspaceId: ws.id });

    /** Picks the extractor for the next email, reserving its worst-case cost against the budget. */
    let reserved = 0;
    const choose = (email: EmailForExtraction): Extractor | null => {
      if (!deps.llm || tally.switched_to_heuristic) return deps.heuristic;
      if (providerError !== null) return null; // LLM down: leave the email for the next run
      const estimate = deps.llm.estimateMaxCostUsd(email);
      if (spent + tally.cost_usd + reserved + estimate > budget.limitUsd) {
        tally.switched_to_heuristic = true;
        tally.extractor = 'heuristic';
        const note = {
          workspace_id: ws.id,
          budget_usd: budget.limitUsd,
          month_spent_usd: roundUsd(spent),
          run_cost_usd: roundUsd(tally.cost_usd + reserved),
          next_email_max_cost_usd: estimate,
          reason: 'monthly AI budget would be exceeded; switched to the heuristic extractor',
        };
        budgetSwitches.push(note);
        wsLog.warn(note, 'monthly AI budget reached: switching workspace to the heuristic extractor');
        return deps.heuristic;
      }
      reserved += estimate;
      return deps.llm;
    };

    const triedThisRun: string[] = [];
    while (tally.emails + tally.deferred < payload.max_emails) {
      if (signal.aborted) throw signal.reason;
      if (deps.llm && !tally.switched_to_heuristic && providerError !== null) break;
      const limit = Math.min(payload.batch_size, payload.max_emails - tally.emails - tally.deferred);
      const batch = await claimEmails(db, ws.id, {
        limit,
        leaseMs: deps.leaseMs,
        maxAttempts: deps.maxAttempts,
        exclude: triedThisRun,
      });
      if (batch.length === 0) break;
      triedThisRun.push(...batch.map((e) => e.id));
      const pending = new Set(batch.map((e) => e.id));
      try {
        reserved = 0;
        const jobs = batch.map((row) => {
          const email = toExtractionInput(row, ws);
          const extractor = choose(email);
          return { row, email, extractor };
        });
        const settled = await Promise.allSettled(
          jobs.map(async ({ row, email, extractor }) => {
            if (!extractor) return { row, kind: 'deferred' as const };
            try {
              const x = await extractor.extract(email, signal);
              return { row, kind: 'extracted' as const, x };
            } catch (err) {
              if (signal.aborted) throw signal.reason;
              return { row, kind: 'failed' as const, err: err as Error };
            }
          }),
        );
        reserved = 0;
        for (const s of settled) {
          if (s.status === 'rejected') throw s.reason;
          const r = s.value;
          if (r.kind === 'deferred') {
            tally.deferred++;
            counts.deferred++;
            continue;
          }
          tally.emails++;
          counts.emails++;
          if (r.kind === 'extracted') {
            await saveInsight(db, r.row, r.x);
            pending.delete(r.row.id);
            usage = addUsage(usage, r.x.usage);
            totalCost += r.x.costUsd;
            tally.cost_usd += r.x.costUsd;
            tally.insights++;
            counts.insights++;
            pushLine({
              email_id: r.row.id,
              workspace_id: ws.id,
              status: 'extracted',
              kind: r.row.direction,
              ...lineOf(r.x),
            });
            continue;
          }
          // A failed call may still have been billed (a malformed answer costs its tokens).
          const billed = r.err as Error & { usage?: TokenUsage; costUsd?: number };
          if (billed.usage) usage = addUsage(usage, billed.usage);
          if (typeof billed.costUsd === 'number') {
            totalCost += billed.costUsd;
            tally.cost_usd += billed.costUsd;
          }
          if (r.err instanceof ProviderUnavailableError) {
            providerError ??= r.err.message;
            wsLog.error({ err: r.err }, 'LLM provider unavailable; remaining emails wait for the next run');
            // Not the email's fault: it is not counted against its attempts.
            tally.emails--;
            counts.emails--;
            tally.deferred++;
            counts.deferred++;
            continue;
          }
          const reason = r.err.message || String(r.err);
          await markFailed(db, r.row.id, reason);
          pending.delete(r.row.id);
          tally.failed++;
          counts.failed++;
          failures.push({ email_id: r.row.id, workspace_id: ws.id, reason });
          pushLine({ email_id: r.row.id, workspace_id: ws.id, status: 'failed', cost_usd: billed.costUsd ?? 0 });
          wsLog.warn({ emailId: r.row.id, reason }, 'insight extraction failed; the email will be retried next run');
        }
      } finally {
        // Whatever stopped the batch, leased emails not yet handled go back at once.
        await releaseClaims(db, [...pending]).catch((err) => wsLog.error({ err }, 'could not release email leases'));
      }
      await ctx
        .progress?.({ workspaces_done: Object.keys(perWorkspace).length - 1, emails_done: counts.emails })
        .catch(() => {});
    }
    tally.cost_usd = roundUsd(tally.cost_usd);
    tally.gave_up = await countGivenUp(db, ws.id, deps.maxAttempts);
    wsLog.info({ ...tally }, 'workspace processed');
  }

  function pushLine(line: JsonObject) {
    if (emailLines.length < MAX_EMAIL_LINES) emailLines.push(line);
  }

  const costUsd = roundUsd(totalCost);
  const output: JsonObject = {
    workspaces_processed: workspaces.length,
    total_emails: counts.emails,
    insights_extracted: counts.insights,
    failed_emails: counts.failed,
    deferred_emails: counts.deferred,
    model: deps.llm?.model ?? deps.heuristic.model,
    extractor: deps.llm ? 'anthropic' : 'heuristic',
    tokens: { input: usage.input, output: usage.output, cache_read: usage.cacheRead, cache_write: usage.cacheWrite },
    cost_usd: costUsd,
    per_workspace: perWorkspace as unknown as JsonObject,
    budget_switches: budgetSwitches,
    emails: emailLines,
    emails_truncated: counts.emails > emailLines.length,
    failures,
    ...(providerError ? { provider_error: providerError } : {}),
  };
  const problems: string[] = [];
  if (counts.failed > 0) problems.push(`${counts.failed} email(s) failed extraction and will be retried`);
  if (providerError) problems.push(`LLM provider unavailable (${providerError}); ${counts.deferred} email(s) deferred`);
  return problems.length > 0
    ? { output, costUsd, status: 'partial_failure', error: problems.join('; ') }
    : { output, costUsd, status: 'completed' };
}

function toExtractionInput(row: ClaimedEmail, ws: TargetWorkspace): EmailForExtraction {
  return {
    id: row.id,
    direction: row.direction,
    fromAddress: row.from_address ?? '',
    fromName: row.from_name,
    toAddresses: row.to_addresses,
    subject: row.subject,
    bodyText: row.body_text,
    snippet: row.snippet,
    sentAt: row.sent_at,
    timezone: ws.timezone,
  };
}

function lineOf(x: Extraction): JsonObject {
  return {
    extractor: x.extractor,
    model: x.model,
    intent: x.insight.intent,
    cost_usd: x.costUsd,
    input_tokens: x.usage.input,
    output_tokens: x.usage.output,
    cache_read_tokens: x.usage.cacheRead,
  };
}
