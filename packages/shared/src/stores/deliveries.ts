import type { RedisClient } from '../runtime/redis.ts';
import type { Channel, SubscriberId } from '../channels.ts';
import type { RedisKeys } from '../keys.ts';
import { LuaScript } from '../runtime/lua.ts';
import type { DeliveryState, StatusUpdate } from '../queues/queues.ts';

export interface MessageRecord {
  messageUuid: string;
  subscriberId: string;
  channel: Channel;
  text: string;
  state: DeliveryState | 'accepted';
  sentAt: number;
  updatedAt: number;
  error?: string;
}

/** How far along a message is: a report never moves it back (statuses arrive out of order). */
const RANK: Record<MessageRecord['state'], number> = {
  accepted: 0,
  submitted: 1,
  buffered: 1,
  unknown: 1,
  delivered: 2,
  rejected: 3,
  undeliverable: 3,
  failed: 3,
  expired: 3,
  read: 4,
};

const HISTORY = 50;
const TTL_S = 7 * 24 * 60 * 60;

/*
 * Applies a status if it moves the message forward; counts the state it reaches. A report for a
 * message we have no record of (expired, or sent by another system) is still counted.
 */
const STATUS_SCRIPT = new LuaScript(`
local rank = tonumber(ARGV[2])
local current = tonumber(redis.call('HGET', KEYS[1], 'rank') or '-1')
if current >= rank then return 0 end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'state', ARGV[1], 'rank', rank, 'updatedAt', ARGV[3])
  if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[4]) end
end
redis.call('HINCRBY', KEYS[2], ARGV[5] .. ':' .. ARGV[1], 1)
return 1
`);

/*
 * A message the provider accepted: its record and the count, in the message's slot. ARGV[6] '1':
 * only if the message has no record yet (a failover leg, which each of its statuses may be the
 * first to record): returns 0 then, and records nothing, so two at once count it once.
 */
const SENT_SCRIPT = new LuaScript(`
if ARGV[6] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'subscriberId', ARGV[1], 'channel', ARGV[2], 'text', ARGV[3], 'state', 'accepted', 'rank', ARGV[4], 'sentAt', ARGV[5], 'updatedAt', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[7])
redis.call('HINCRBY', KEYS[2], ARGV[2] .. ':accepted', 1)
return 1
`);

/**
 * A message's place in its subscriber's history: `push_history(key, uuid, bound, ttl)`. The list
 * is in the subscriber's slot (keys.messageHistory), so a feed turn's end writes it in the script
 * that settles them (DueIndex.settleSent, with `historyEntry`).
 */
export const LUA_HISTORY = `
local function push_history(key, uuid, bound, ttl)
  redis.call('LPUSH', key, uuid)
  redis.call('LTRIM', key, 0, tonumber(bound) - 1)
  redis.call('EXPIRE', key, ttl)
end
`;

/* KEYS: the history. ARGV: uuid, bound, TTL (s). */
const HISTORY_SCRIPT = new LuaScript(`
${LUA_HISTORY}
push_history(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
return 1
`);

/** What LUA_HISTORY's `push_history` takes, for a script that writes a history entry with other work of the subscriber's slot. */
export interface HistoryEntry {
  key: string;
  uuid: string;
  bound: number;
  ttlS: number;
}

/** Every message we sent, its delivery state, and each subscriber's recent history. */
export class DeliveryLog {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;

  constructor(redis: RedisClient, keys: RedisKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  /**
   * `workflowId`: the message went with a failover; its later legs are known by it (failoverLeg).
   * `history: false`: the caller writes the message's history entry itself (`historyEntry`), in a
   * script of the subscriber's slot.
   */
  async recordSent(
    m: { messageUuid: string; subscriberId: SubscriberId | string; channel: Channel; text: string; at?: number; workflowId?: string | undefined },
    options: { history?: boolean } = {},
  ): Promise<void> {
    await Promise.all([this.#recordSent(m, false, options.history ?? true), m.workflowId ? this.#redis.set(this.#keys.workflow(m.workflowId), m.messageUuid, 'EX', TTL_S) : undefined]);
  }

  /** The history entry of a message sent to `subscriberId`, for a caller's own script (LUA_HISTORY). */
  historyEntry(subscriberId: SubscriberId | string, messageUuid: string): HistoryEntry {
    return { key: this.#keys.messageHistory(subscriberId), uuid: messageUuid, bound: HISTORY, ttlS: TTL_S };
  }

  /**
   * Records the message unless it has a record already (`onlyIfNew`); true when this call recorded
   * it. The record and its history entry are two slots on a cluster: a crash between them leaves
   * the message out of the history (which only shows recent messages), never recorded twice.
   */
  async #recordSent(m: { messageUuid: string; subscriberId: SubscriberId | string; channel: Channel; text: string; at?: number }, onlyIfNew: boolean, withHistory = true): Promise<boolean> {
    const k = this.#keys;
    const record = SENT_SCRIPT.run(
      this.#redis,
      [k.message(m.messageUuid), k.deliveryCountsOf(m.messageUuid)],
      [m.subscriberId, m.channel, m.text, RANK.accepted, m.at ?? Date.now(), onlyIfNew ? '1' : '0', TTL_S],
    );
    const history = () => HISTORY_SCRIPT.run(this.#redis, [k.messageHistory(m.subscriberId)], [m.messageUuid, HISTORY, TTL_S]);
    if (onlyIfNew) {
      if ((await record) !== 1) return false;
      await history();
      return true;
    }
    // Side by side: a message sent is always new (its uuid is the provider's answer).
    await Promise.all([record, withHistory ? history() : undefined]);
    return true;
  }

  /**
   * A status of a later leg of a failover workflow (the provider sent it itself, under a uuid of
   * its own): recorded as a message to the same subscriber, on its channel, the first time one of
   * its statuses comes. Answers the message the workflow began with, and whether this leg is new;
   * undefined when the workflow is not ours.
   */
  async failoverLeg(workflowId: string, legUuid: string, channel: Channel): Promise<{ first: MessageRecord; isNew: boolean } | undefined> {
    const firstUuid = await this.#redis.get(this.#keys.workflow(workflowId));
    const first = firstUuid ? await this.get(firstUuid) : undefined;
    if (!first) return undefined;
    // Checked and recorded in one script: two statuses of the leg at once (submitted, delivered) count it once.
    const isNew = await this.#recordSent({ messageUuid: legUuid, subscriberId: first.subscriberId, channel, text: first.text }, true);
    return { first, isNew };
  }

  /** Returns true when the report moved the message forward. */
  async applyStatus(update: StatusUpdate, at = Date.now()): Promise<boolean> {
    const applied = await STATUS_SCRIPT.run(
      this.#redis,
      [this.#keys.message(update.messageId), this.#keys.deliveryCountsOf(update.messageId)],
      [update.status, RANK[update.status], at, update.error ? [update.error.code, update.error.reason].filter(Boolean).join(' ') : '', update.channel],
    );
    return applied === 1;
  }

  /** Whom we sent this message to (a subscriber id), or undefined when we have no record of it. */
  async recipientOf(messageUuid: string): Promise<string | undefined> {
    return (await this.#redis.hget(this.#keys.message(messageUuid), 'subscriberId')) ?? undefined;
  }

  async get(messageUuid: string): Promise<MessageRecord | undefined> {
    const h = await this.#redis.hgetall(this.#keys.message(messageUuid));
    if (!h.channel) return undefined;
    return {
      messageUuid,
      subscriberId: h.subscriberId ?? '',
      channel: h.channel as Channel,
      text: h.text ?? '',
      state: h.state as MessageRecord['state'],
      sentAt: Number(h.sentAt),
      updatedAt: Number(h.updatedAt),
      ...(h.error ? { error: h.error } : {}),
    };
  }

  /** A subscriber's recent messages, newest first. */
  async history(id: SubscriberId | string, limit = HISTORY): Promise<MessageRecord[]> {
    const uuids = await this.#redis.lrange(this.#keys.messageHistory(id), 0, limit - 1);
    const records = await Promise.all(uuids.map((u) => this.get(u)));
    return records.filter((r): r is MessageRecord => r !== undefined);
  }

  /** `channel:state` -> count. */
  async counts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const h of await Promise.all(this.#keys.deliveryCountKeys.map((key) => this.#redis.hgetall(key)))) {
      for (const [k, v] of Object.entries(h)) out[k] = (out[k] ?? 0) + Number(v);
    }
    return out;
  }
}
