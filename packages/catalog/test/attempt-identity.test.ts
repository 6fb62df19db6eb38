import { describe, expect, it } from 'vitest';
import { attemptIdentity, type JobFields, withoutTrigger, withTrigger } from '../src/index.ts';

const WS = '5b1f0c8e-2f4a-4c1d-9b7e-3a2d1c0b9a8f';
const UUID_ID = '0f8a3b2c-1d4e-4f5a-8b6c-7d8e9f0a1b2c';

function job(fields: Partial<JobFields>): JobFields {
  return {
    queueName: 'analytics_queue',
    id: UUID_ID,
    timestamp: 1_700_000_000_000,
    attemptsStarted: 0,
    data: {},
    ...fields,
  };
}

describe('attemptIdentity', () => {
  it('names a job not started yet as attempt 1 and a started one by attemptsStarted', () => {
    expect(attemptIdentity(job({})).attempt).toBe(1);
    expect(attemptIdentity(job({ attemptsStarted: 3 })).attempt).toBe(3);
    expect(attemptIdentity(job({ attemptsStarted: 3 }), { attempt: 2 }).attempt).toBe(2);
  });

  it('records UUID job ids as they are and any other id with the creation time', () => {
    expect(attemptIdentity(job({})).jobId).toBe(UUID_ID);
    expect(attemptIdentity(job({ id: '42' })).jobId).toBe('42@1700000000000');
  });

  it('keeps a workspace_id only when it is a UUID', () => {
    expect(attemptIdentity(job({ data: { workspace_id: WS } })).workspaceId).toBe(WS);
    expect(attemptIdentity(job({ data: { workspace_id: 'ws_123' } })).workspaceId).toBeNull();
    expect(attemptIdentity(job({ data: { workspace_id: 7 } })).workspaceId).toBeNull();
    expect(attemptIdentity(job({ data: null })).workspaceId).toBeNull();
  });

  it('takes the payload trigger when it is a known one, else the given one, else cron or api', () => {
    expect(attemptIdentity(job({ data: { triggered_by: 'manual' } }), { trigger: 'retry' }).triggeredBy).toBe('manual');
    expect(attemptIdentity(job({ data: { triggered_by: 'nobody' } }), { trigger: 'retry' }).triggeredBy).toBe('retry');
    expect(attemptIdentity(job({ data: { triggered_by: 'nobody' } })).triggeredBy).toBe('api');
    expect(attemptIdentity(job({ repeatJobKey: 'every-hour' })).triggeredBy).toBe('cron');
  });

  it('gives a payload the producer stamped the trigger it was stamped with', () => {
    const stamped = withTrigger({ workspace_id: WS }, 'system');
    expect(stamped).toEqual({ workspace_id: WS, triggered_by: 'system' });
    expect(attemptIdentity(job({ data: stamped, attemptsStarted: 1 })).triggeredBy).toBe('system');
    expect(withTrigger({ triggered_by: 'cron' }, 'system')).toEqual({ triggered_by: 'cron' });
    expect(withoutTrigger(stamped as Record<string, unknown>)).toEqual({ workspace_id: WS });
  });
});
