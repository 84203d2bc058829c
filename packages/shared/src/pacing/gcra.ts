import type { RedisClient } from '../runtime/redis.ts';
import { LuaScript } from '../runtime/lua.ts';

/*
 * GCRA on Redis's clock, in fractional ms, so that every process (ingress and dispatcher
 * replicas) keeps to one schedule. The key holds the theoretical arrival time of the next slot.
 * ARGV: interval, burst (ms of slots that may be taken with no wait), horizon (ms; -1 for none).
 */
const TAKE_SLOT = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local horizon = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now - burst
if wait < 0 then wait = 0 end
if horizon >= 0 and wait > horizon then return tostring(horizon - wait) end
redis.call('SET', KEYS[1], string.format('%.6f', tat + interval), 'PX', math.ceil(tat + interval - now) + 1000)
return tostring(wait)
`);

/**
 * Takes the next slot of the schedule at `key`, slots `intervalMs` apart, and answers how many ms
 * until it comes (≥ 0). With `burstMs`, that much of the schedule may be used up before anyone
 * waits. With `horizonMs`, a slot further off is not taken: the answer is then negative, how much
 * sooner than now the schedule would have to be.
 */
export async function takeSlot(redis: RedisClient, key: string, intervalMs: number, opts: { burstMs?: number; horizonMs?: number } = {}): Promise<number> {
  return Number(await TAKE_SLOT.run(redis, [key], [intervalMs, opts.burstMs ?? 0, opts.horizonMs ?? -1]));
}
