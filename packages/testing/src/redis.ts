import './provided.ts';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';

export interface TestRedis {
  url: string;
  /** A BullMQ prefix of this test file's own; nothing else uses it. */
  prefix: string;
  /** Deletes every key under the prefix. */
  cleanup(): Promise<void>;
}

/** A unique Redis key prefix for one test file, and a way to wipe it afterwards. */
export function createTestRedis(label = 't'): TestRedis {
  const url = inject('redisUrl');
  const prefix = `{fleet-test-${label}-${randomBytes(4).toString('hex')}}`;
  return {
    url,
    prefix,
    async cleanup() {
      const redis = new Redis(url, { maxRetriesPerRequest: 1 });
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await redis.unlink(...keys);
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}
