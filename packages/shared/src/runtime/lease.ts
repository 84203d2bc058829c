import { randomUUID } from 'node:crypto';
import type { RedisClient } from './redis.ts';
import { LuaScript } from './lua.ts';

/** Deletes a key only while it still holds the caller's token: never a lease or claim someone took since. */
export const RELEASE_IF_OURS_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
const RELEASE_IF_OURS = new LuaScript(RELEASE_IF_OURS_LUA);

/**
 * A lease on `key` for `ms`: one holder at a time, freed by `release` or by the TTL if its holder
 * dies. Resolves to the token to release it with, or undefined when someone else holds it.
 */
export async function takeLease(redis: RedisClient, key: string, ms: number): Promise<string | undefined> {
  const token = randomUUID();
  return (await redis.set(key, token, 'PX', ms, 'NX')) === 'OK' ? token : undefined;
}

/** Frees a lease, if it is still the holder's. */
export async function releaseLease(redis: RedisClient, key: string, token: string): Promise<void> {
  await RELEASE_IF_OURS.run(redis, [key], [token]);
}
