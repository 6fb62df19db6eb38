import { Redis } from 'ioredis';

/**
 * Every value stored under a key prefix, as text: each field of a hash, each entry of a stream,
 * list, set or sorted set, each string. Tests scan it for what must never reach Redis.
 */
export async function dumpRedisKeys(url: string, prefix: string): Promise<Map<string, string>> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  const out = new Map<string, string>();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) out.set(key, await read(redis, key));
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return out;
}

async function read(redis: Redis, key: string): Promise<string> {
  const type = await redis.type(key);
  switch (type) {
    case 'hash':
      return JSON.stringify(await redis.hgetall(key));
    case 'stream':
      return JSON.stringify(await redis.xrange(key, '-', '+'));
    case 'list':
      return JSON.stringify(await redis.lrange(key, 0, -1));
    case 'set':
      return JSON.stringify(await redis.smembers(key));
    case 'zset':
      return JSON.stringify(await redis.zrange(key, 0, -1, 'WITHSCORES'));
    case 'string':
      return (await redis.get(key)) ?? '';
    case 'none':
      return '';
    default:
      throw new Error(`dumpRedisKeys: key ${key} has type ${type}, which it cannot read`);
  }
}
