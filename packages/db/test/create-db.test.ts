import { createTestDatabase, type TestDatabase } from '@fleet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, poolOf } from '../src/index.ts';

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase('create_db');
});

afterAll(async () => {
  await t?.drop();
});

describe('createDb', () => {
  it('closes its pool on destroy() even when every statement went straight to the pool', async () => {
    const db = createDb(t.url, { max: 2 });
    const pool = poolOf(db)!;
    await pool.query({ name: 'one', text: 'SELECT 1 AS one' });
    expect(pool.totalCount).toBe(1);
    await db.destroy();
    expect(pool.ended).toBe(true);
    expect(pool.totalCount).toBe(0);
  });

  it('closes its pool on destroy() after Kysely queries, once', async () => {
    const db = createDb(t.url, { max: 2 });
    const pool = poolOf(db)!;
    await db.selectFrom('workspaces').select('id').limit(1).execute();
    await db.destroy();
    expect(pool.ended).toBe(true);
    expect(pool.totalCount).toBe(0);
  });
});
