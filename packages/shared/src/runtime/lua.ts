import { createHash } from 'node:crypto';
import type { RedisClient } from './redis.ts';

/**
 * A Lua script run by its SHA1 (EVALSHA), sending the source only when Redis does not have it
 * yet (after a restart or a SCRIPT FLUSH): on hot paths the script text is not resent per call.
 */
export class LuaScript {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.#sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err as Error).message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.#source, keys.length, ...keys, ...args);
    }
  }
}

/**
 * Lua that sets `now` to Redis' own time in ms, to the µs, as a string ("1796212726518.123"): one
 * clock for every process, and every write or read of a script at its own time. A string, because
 * a Lua number would go back to Redis with 14 digits.
 */
export const LUA_NOW_MS = `local t = redis.call('TIME')
local now = t[1] .. string.format('%06d', t[2]):sub(1, 3) .. '.' .. string.format('%06d', t[2]):sub(4)
`;
