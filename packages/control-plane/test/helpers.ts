import { randomUUID } from 'node:crypto';
import type { Database, TaskStatus, TaskType, TerminalStatus } from '@fleet/db';
import type { TaskLogger } from '@fleet/task-logger';
import type { Kysely } from 'kysely';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';

/** Environment of a control plane under test: own database and Redis prefix, a free port. */
export function controlPlaneEnv(dbUrl: string, redisUrl: string, prefix: string, extra: Record<string, string> = {}) {
  return {
    DATABASE_URL: dbUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    CONTROL_PLANE_PORT: '0',
    CONTROL_PLANE_HOST: '127.0.0.1',
    ADMIN_API_KEY: ADMIN_KEY,
    LOG_LEVEL: 'silent',
    LOG_PRETTY: 'false',
    ...extra,
  };
}

/** A small HTTP client: JSON in, `{ status, body, headers }` out. */
export function client(baseUrl: string) {
  return async function call(
    method: string,
    path: string,
    options: { key?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = { ...options.headers };
    const key = options.key === undefined ? ADMIN_KEY : options.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let body: string | undefined;
    if (options.raw !== undefined) {
      body = options.raw;
      headers['content-type'] ??= 'application/json';
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(`${baseUrl}${path}`, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
    let json: any = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: res.status, body: json, text, headers: res.headers };
  };
}

/** Creates an organization with `n` workspaces; returns their ids. */
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
  startedMinutesAgo?: number;
  durationMs?: number;
  costUsd?: number;
  errorMessage?: string;
}

/** Audit rows written the way the fleet writes them: through the task logger. */
export async function seedRows(logger: TaskLogger, rows: SeedRow[]): Promise<void> {
  await Promise.all(
    rows.map((r) => {
      const executedAt = new Date(Date.now() - (r.startedMinutesAgo ?? 5) * 60_000);
      const start = {
        queueName: 'seed_queue',
        jobId: randomUUID(),
        attempt: 1,
        workspaceId: r.workspaceId,
        taskType: r.taskType ?? 'daily_analytics_rollup',
        agentName: 'seed',
        triggeredBy: 'manual',
        inputData: { seeded: true },
        executedAt,
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
