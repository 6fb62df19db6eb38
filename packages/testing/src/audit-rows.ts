/** Workspaces and audit rows for tests of the fleet's read side (ops, control plane). */
import { randomUUID } from 'node:crypto';
import type { AuditWriter } from '@fleet/audit-writer';
import type { Database, TaskStatus, TaskType, TerminalStatus } from '@fleet/db';
import type { Kysely } from 'kysely';

/** Creates an organization with `n` workspaces (optionally named); returns their ids. */
export async function seedWorkspaces(db: Kysely<Database>, n: number, names?: string[]): Promise<string[]> {
  const org = await db.insertInto('organizations').values({ name: 'Org' }).returning('id').executeTakeFirstOrThrow();
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const ws = await db
      .insertInto('workspaces')
      .values({ org_id: org.id, name: names?.[i] ?? `Workspace ${i + 1}` })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids.push(ws.id);
  }
  return ids;
}

export interface SeedRow {
  workspaceId: string | null;
  taskType?: TaskType;
  status?: TaskStatus;
  /** Minutes before now that the attempt started. */
  startedMinutesAgo?: number;
  durationMs?: number;
  costUsd?: number;
  errorMessage?: string;
  queueName?: string;
  jobId?: string;
}

/** Writes audit rows the way the fleet does: through the audit writer. */
export async function seedRows(logger: AuditWriter, rows: SeedRow[]): Promise<void> {
  await Promise.all(
    rows.map((r) => {
      const executedAt = new Date(Date.now() - (r.startedMinutesAgo ?? 5) * 60_000);
      const start = {
        queueName: r.queueName ?? 'seed_queue',
        jobId: r.jobId ?? randomUUID(),
        attempt: 1,
        workspaceId: r.workspaceId,
        taskType: r.taskType ?? 'daily_analytics_rollup',
        agentName: 'seed',
        triggeredBy: 'manual',
        inputData: { seeded: true },
        executedAt,
        jobCreatedAt: executedAt,
      };
      const status = r.status ?? 'completed';
      if (status === 'pending') return logger.pending(start);
      if (status === 'running') {
        logger.running(start);
        return logger.flush();
      }
      return logger.finish(start, {
        status: status as TerminalStatus,
        completedAt: new Date(executedAt.getTime() + (r.durationMs ?? 1_000)),
        costUsd: r.costUsd ?? 0,
        errorMessage: r.errorMessage ?? null,
      });
    }),
  );
}
