import { createHash } from 'node:crypto';
import type { RedisClient } from '@tickercast/shared';
import { INBOUND_TEXT_MAX, LuaScript, type RedisKeys } from '@tickercast/shared';

/**
 * Parts of one long SMS kept for joining. Sixteen parts of 153 characters carry 2,448, far more
 * than a command reads (640): the parts past them change no answer, so they are acknowledged and
 * dropped rather than stored.
 */
export const SMS_CONCAT_MAX_PARTS = 16;
/** A real part carries at most 160 characters; a stored part is cut here, so a joined text always fits an inbound job. */
export const SMS_CONCAT_PART_TEXT_MAX = Math.floor(INBOUND_TEXT_MAX / SMS_CONCAT_MAX_PARTS);
/** How long the parts of a long SMS wait for each other: Vonage keeps resending for 24 hours. */
const CONCAT_TTL_S = 24 * 60 * 60;

/*
 * Stores one part and, once every part is in, returns them all: {-1} for a part already joined,
 * {count} while parts are missing, {count, texts, ids} (flat field/value arrays) when complete.
 * The parts stay until the joined message is a job (JOINED below): if that fails (Redis went
 * away), the provider's retry of the part completes the message again, and nothing that was
 * answered 200 is lost. Two requests completing it at once make one job (its id is the parts').
 */
const ADD_PART = new LuaScript(`
local parts, ids, joined = KEYS[1], KEYS[2], KEYS[3]
local part, text, id, ttl, needed = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
if redis.call('SISMEMBER', joined, id) == 1 then return {-1} end
redis.call('HSET', parts, part, text)
redis.call('HSET', ids, part, id)
redis.call('EXPIRE', parts, ttl)
redis.call('EXPIRE', ids, ttl)
local count = redis.call('HLEN', parts)
if count < needed then return {count} end
return {count, redis.call('HGETALL', parts), redis.call('HGETALL', ids)}
`);

/*
 * The joined message is a job: its parts go (a later message may reuse the reference) and their
 * ids are remembered, so that a late redelivery of one of them is a duplicate rather than the
 * first part of a message that never completes. ARGV: ttl, then the parts' ids.
 */
const JOINED = new LuaScript(`
redis.call('DEL', KEYS[1], KEYS[2])
for i = 2, #ARGV do redis.call('SADD', KEYS[3], ARGV[i]) end
redis.call('EXPIRE', KEYS[3], ARGV[1])
return 0
`);

export type PartOutcome =
  | { kind: 'duplicate' }
  | { kind: 'waiting'; parts: number }
  | { kind: 'joined'; text: string; messageId: string; partIds: string[] };

export interface Part {
  from: string;
  ref: string;
  total: number;
  part: number;
  text: string;
  messageId: string;
}

/** Adds one part of a long SMS; the request that brings the last missing part gets the joined text. */
export async function addSmsPart(redis: RedisClient, keys: RedisKeys, p: Part): Promise<PartOutcome> {
  const needed = Math.min(p.total, SMS_CONCAT_MAX_PARTS);
  const result = (await ADD_PART.run(
    redis,
    [keys.smsConcatParts(p.from, p.ref), keys.smsConcatPartIds(p.from, p.ref), keys.smsConcatJoined(p.from, p.ref)],
    [p.part, p.text.slice(0, SMS_CONCAT_PART_TEXT_MAX), p.messageId, CONCAT_TTL_S, needed],
  )) as [number, string[]?, string[]?];
  const [count, texts, ids] = result;
  if (count < 0) return { kind: 'duplicate' };
  if (!texts || !ids) return { kind: 'waiting', parts: count };
  const byPart = (flat: string[]) => new Map(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i]!, flat[2 * i + 1]!]));
  const t = byPart(texts);
  const i = byPart(ids);
  const order = Array.from({ length: needed }, (_, k) => String(k + 1));
  // The parts' own ids make the joined id: the same parts redelivered are the same message, a new
  // message under a reused reference is another. Hashed, so no phone number is in a job id.
  const digest = createHash('sha256').update(JSON.stringify([p.from, p.ref, ...order.map((k) => i.get(k) ?? '')])).digest('hex').slice(0, 32);
  return { kind: 'joined', text: order.map((k) => t.get(k) ?? '').join('').slice(0, INBOUND_TEXT_MAX), messageId: `concat-${digest}`, partIds: [...i.values()] };
}

/** After the joined message's job is added: forgets its parts and remembers their ids as joined. */
export async function markSmsJoined(redis: RedisClient, keys: RedisKeys, p: Pick<Part, 'from' | 'ref'>, partIds: string[]): Promise<void> {
  await JOINED.run(redis, [keys.smsConcatParts(p.from, p.ref), keys.smsConcatPartIds(p.from, p.ref), keys.smsConcatJoined(p.from, p.ref)], [CONCAT_TTL_S, ...partIds]);
}
