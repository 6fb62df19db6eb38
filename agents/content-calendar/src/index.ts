import { defineAgent } from '@fleet/runtime';
import { createSafeFetch } from '@fleet/safe-fetch';
import { contentCalendarEnv } from './env.ts';
import { syncCalendar } from './sync-calendar.ts';

/** content_calendar_queue worker: one CalDAV calendar of a workspace per job, synced both ways. */
export default defineAgent({
  name: 'content-calendar',
  queue: 'content_calendar_queue',
  // Jobs wait on calendar servers; a few calendars at once per process.
  concurrency: 4,
  env: contentCalendarEnv,
  setup({ env }) {
    return {
      encryptionKey: env.MAIL_TOKEN_ENCRYPTION_KEY,
      http: createSafeFetch({ allow: env.CALDAV_ALLOWED_HOSTS, allowVariable: 'CALDAV_ALLOWED_HOSTS' }),
      requestTimeoutMs: env.CALDAV_TIMEOUT_MS,
    };
  },
  teardown: (deps) => deps.http.close(),
  handlers: {
    async content_calendar_sync(payload, ctx) {
      const result = await syncCalendar(
        ctx.db,
        ctx.deps,
        { workspaceId: payload.workspace_id, calendarId: payload.calendar_id },
        { log: ctx.log, signal: ctx.signal, registerSecret: ctx.registerSecret },
      );
      const output = JSON.parse(JSON.stringify(result));
      if (result.failed_count === 0) return { output };
      return {
        output,
        status: 'partial_failure',
        error: `${result.failed_count} event(s) or item(s) could not be synced: ${result.failures
          .slice(0, 3)
          .map((f) => `${f.href ?? f.item_id}: ${f.reason}`)
          .join('; ')}`,
      };
    },
  },
});
