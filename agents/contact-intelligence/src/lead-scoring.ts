/**
 * lead_scoring_batch: scores a workspace's contacts chunk by chunk. Each chunk is one transaction
 * of two statements (lock and read signals, write scores and history), whatever its size, so a
 * run costs round trips per chunk, not per contact.
 */
import type { Database, JsonObject } from '@fleet/db';
import { PermanentError } from '@fleet/runtime';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Logger } from 'pino';
import { type BatchStatus, batchStatus, failureFields, failureSummary, type ItemFailure } from './batch-result.ts';
import { forEachContactChunk } from './contact-chunks.ts';
import { type LeadTier, type ScoreResult, scoreContact } from './score-contact.ts';
import { type LeadScoringConfig, resolveScoringConfig, ScoringConfigError } from './scoring-config.ts';
import { loadSignals } from './scoring-signals.ts';
import { loadWorkspace } from './workspace.ts';

export interface LeadScoringInput {
  workspaceId: string;
  /** Only these contacts; every contact of the workspace when omitted. */
  contactIds?: string[];
}

export interface LeadScoringOptions {
  /** The moment scores are computed for (recency, windows); now by default. */
  asOf?: Date;
  /** Contacts per transaction. */
  chunkSize?: number;
  signal?: AbortSignal;
  /** Called after each chunk with the contacts handled so far. */
  onProgress?: (done: number) => void | Promise<void>;
}

export interface LeadScoringOutcome {
  status: BatchStatus;
  output: JsonObject;
  error?: string;
}

interface Counters {
  scored: number;
  newlyScored: number;
  scoreChanges: number;
  tierChanges: number;
  historyRows: number;
  tiers: Record<LeadTier, number>;
}

const DEFAULT_CHUNK = 1_000;

export async function runLeadScoring(
  db: Kysely<Database>,
  log: Logger,
  input: LeadScoringInput,
  options: LeadScoringOptions = {},
): Promise<LeadScoringOutcome> {
  const asOf = options.asOf ?? new Date();
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK;
  const workspace = await loadWorkspace(db, input.workspaceId);
  let config: LeadScoringConfig;
  try {
    config = resolveScoringConfig(workspace.settings);
  } catch (error) {
    if (error instanceof ScoringConfigError) throw new PermanentError(`workspace ${workspace.id}: ${error.message}`);
    throw error;
  }

  const counters: Counters = {
    scored: 0,
    newlyScored: 0,
    scoreChanges: 0,
    tierChanges: 0,
    historyRows: 0,
    tiers: { hot: 0, warm: 0, cold: 0 },
  };
  const failures: ItemFailure[] = [];
  let attempted = 0;

  const handleChunk = async (ids: string[]) => {
    options.signal?.throwIfAborted();
    attempted += ids.length;
    const found = await db
      .transaction()
      .execute((trx) => scoreChunk(trx, workspace.id, ids, config, asOf, counters, failures));
    for (const id of ids)
      if (!found.has(id)) failures.push({ contact_id: id, reason: 'not a contact of this workspace' });
    await options.onProgress?.(attempted);
  };

  await forEachContactChunk(db, workspace.id, input.contactIds, chunkSize, handleChunk);

  const status = batchStatus(attempted, failures.length);
  log.info(
    { workspaceId: workspace.id, attempted, scored: counters.scored, failed: failures.length },
    'lead scoring done',
  );
  return {
    status,
    error: failureSummary(failures, attempted),
    output: {
      contacts_scored: counters.scored,
      newly_scored: counters.newlyScored,
      score_changes: counters.scoreChanges,
      tier_changes: counters.tierChanges,
      history_rows: counters.historyRows,
      tiers: counters.tiers,
      scored_as_of: asOf.toISOString(),
      ...failureFields(failures),
    },
  };
}

/** Scores one chunk inside `trx`; returns the ids that exist in the workspace. */
async function scoreChunk(
  trx: Transaction<Database>,
  workspaceId: string,
  ids: string[],
  config: LeadScoringConfig,
  asOf: Date,
  counters: Counters,
  failures: ItemFailure[],
): Promise<Set<string>> {
  const rows = await loadSignals(trx, workspaceId, ids, config, asOf);

  const scored: Array<{
    id: string;
    prevScore: number | null;
    prevTier: LeadTier | null;
    result: ScoreResult;
    last: Date | null;
  }> = [];
  for (const row of rows) {
    try {
      scored.push({
        id: row.id,
        prevScore: row.lead_score,
        prevTier: row.lead_tier,
        result: scoreContact(row.signals, config, asOf),
        last: row.signals.lastInteractionAt,
      });
    } catch (error) {
      failures.push({ contact_id: row.id, reason: error instanceof Error ? error.message : String(error) });
    }
  }

  if (scored.length > 0) {
    const values = scored.map((s) => ({
      id: s.id,
      score: s.result.score,
      tier: s.result.tier,
      factors: s.result.factors,
      last_interaction_at: s.last?.toISOString() ?? null,
      previous_score: s.prevScore,
      previous_tier: s.prevTier,
      changed: s.prevScore !== s.result.score || s.prevTier !== s.result.tier,
    }));
    // One statement, one parse of the chunk: write the scores back and append history for the
    // contacts whose score or tier changed (the UPDATE runs even though nothing reads its result).
    const { rows } = await sql<{ history_rows: number }>`
      WITH v AS (
        SELECT * FROM jsonb_to_recordset(${JSON.stringify(values)}::jsonb) AS v(
          id uuid, score int, tier text, factors jsonb, last_interaction_at timestamptz,
          previous_score int, previous_tier text, changed boolean)
      ), scored AS (
        UPDATE contacts AS c
           SET lead_score = v.score, lead_tier = v.tier, score_factors = v.factors,
               scored_at = ${asOf}, last_interaction_at = v.last_interaction_at
          FROM v
         WHERE c.id = v.id
      ), history AS (
        INSERT INTO contact_score_history
               (workspace_id, contact_id, score, tier, previous_score, previous_tier, factors, computed_at)
        SELECT ${workspaceId}, v.id, v.score, v.tier, v.previous_score, v.previous_tier, v.factors, ${asOf}
          FROM v
         WHERE v.changed
        RETURNING 1
      )
      SELECT count(*)::int AS history_rows FROM history
    `.execute(trx);
    counters.historyRows += rows[0]?.history_rows ?? 0;

    for (const s of scored) {
      counters.scored += 1;
      counters.tiers[s.result.tier] += 1;
      if (s.prevScore === null) counters.newlyScored += 1;
      else if (s.prevScore !== s.result.score) counters.scoreChanges += 1;
      if (s.prevTier !== null && s.prevTier !== s.result.tier) counters.tierChanges += 1;
    }
  }
  return new Set(rows.map((r) => r.id));
}
