import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
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
 * One script, so that exactly one request sees a message complete: it takes the parts and
 * deletes them (a later message may reuse the reference), and remembers the joined parts' ids
 * so that a late redelivery of one of them is a duplicate rather than the first part of a message
 * that never completes. Returns {-1} for a part already joined, {count} while parts are missing, and
 * {count, texts, ids} (flat field/value arrays) for the one request that completes the message.
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
local texts = redis.call('HGETALL', parts)
local partIds = redis.call('HGETALL', ids)
redis.call('DEL', parts, ids)
for i = 2, #partIds, 2 do redis.call('SADD', joined, partIds[i]) end
redis.call('EXPIRE', joined, ttl)
return {count, texts, partIds}
`);

export type PartOutcome =
  | { kind: 'duplicate' }
  | { kind: 'waiting'; parts: number }
  | { kind: 'joined'; text: string; messageId: string };

export interface Part {
  from: string;
  ref: string;
  total: number;
  part: number;
  text: string;
  messageId: string;
}

/** Adds one part of a long SMS; the request that brings the last missing part gets the joined text. */
export async function addSmsPart(redis: Redis, keys: RedisKeys, p: Part): Promise<PartOutcome> {
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
  return { kind: 'joined', text: order.map((k) => t.get(k) ?? '').join('').slice(0, INBOUND_TEXT_MAX), messageId: `concat-${digest}` };
}
