import type { RedisClient } from '../runtime/redis.ts';
import type { Channel, SubscriberId } from '../channels.ts';
import { subscriberId } from '../channels.ts';
import type { RedisKeys } from '../keys.ts';

/** A web signup for these symbols, which this address is asked to confirm with a YES; nothing is done until it does. */
export interface PendingSignup {
  channel: Channel;
  address: string;
  symbols: string[];
  createdAt: number;
}

/**
 * What an address has been asked to confirm, each kept apart so that neither replaces the other:
 * a web signup, and (`fallbackFor`) becoming the SMS fallback of a subscriber on another channel
 * who named this number (FALLBACK SMS +number), so that nobody can have messages sent to a
 * number that is not theirs.
 */
export interface Pending {
  signup?: PendingSignup;
  /** The subscriber whose fallback this address becomes on YES. */
  fallbackFor?: string;
}

/**
 * Requests awaiting the person's YES, each with a TTL, under one hash tag. A new web signup for
 * the same address replaces the pending one (the latest choice of symbols wins), and a new
 * fallback request the pending one (the latest person to name the number); a web signup and a
 * fallback request for the same number are both kept, and one YES confirms both.
 */
export class PendingSignups {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;

  constructor(redis: RedisClient, keys: RedisKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  async create(s: { channel: Channel; address: string; symbols: readonly string[]; ttlS: number; at?: number }): Promise<SubscriberId> {
    const id = subscriberId(s.channel, s.address);
    const record: PendingSignup = { channel: s.channel, address: s.address, symbols: [...s.symbols], createdAt: s.at ?? Date.now() };
    await this.#redis.set(this.#keys.pendingSignup(id), JSON.stringify(record), 'EX', s.ttlS);
    return id;
  }

  /** Asks `address` on `channel` to become the fallback of `owner` (a subscriber id elsewhere). */
  async requestFallback(r: { channel: Channel; address: string; owner: string; ttlS: number }): Promise<SubscriberId> {
    const id = subscriberId(r.channel, r.address);
    await this.#redis.set(this.#keys.pendingFallback(id), r.owner, 'EX', r.ttlS);
    return id;
  }

  async get(id: SubscriberId | string): Promise<PendingSignup | undefined> {
    return decode(await this.#redis.get(this.#keys.pendingSignup(id)));
  }

  /** Everything this address has pending. */
  async pending(id: SubscriberId | string): Promise<Pending> {
    const [signup, fallbackFor] = await this.#redis.mget(this.#keys.pendingSignup(id), this.#keys.pendingFallback(id));
    const decoded = decode(signup);
    return { ...(decoded && { signup: decoded }), ...(fallbackFor && { fallbackFor }) };
  }

  /** Forgets what was pending (after a YES acted on it, or a NO); true when there was something. */
  async cancel(id: SubscriberId | string): Promise<boolean> {
    return (await this.#redis.del(this.#keys.pendingSignup(id), this.#keys.pendingFallback(id))) > 0;
  }
}

function decode(raw: string | null | undefined): PendingSignup | undefined {
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as PendingSignup;
    return Array.isArray(v.symbols) && typeof v.channel === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
