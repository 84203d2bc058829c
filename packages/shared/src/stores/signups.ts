import type { RedisClient } from '../runtime/redis.ts';
import type { Channel, SubscriberId } from '../channels.ts';
import { subscriberId } from '../channels.ts';
import type { RedisKeys } from '../keys.ts';

/**
 * Something this address is asked to confirm with a YES, and nothing is done until it does: a web
 * signup for these symbols, or (`fallbackFor`) becoming the SMS fallback of a subscriber on
 * another channel who named this number (FALLBACK SMS +number), so that nobody can have
 * messages sent to a number that is not theirs.
 */
export interface PendingSignup {
  channel: Channel;
  address: string;
  symbols: string[];
  createdAt: number;
  /** The subscriber whose fallback this address becomes on YES. */
  fallbackFor?: string;
}

/**
 * Web signups awaiting the person's confirmation, one per subscriber id, each with a TTL. A new
 * request for the same address replaces the pending one (the latest choice of symbols wins).
 */
export class PendingSignups {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;

  constructor(redis: RedisClient, keys: RedisKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  async create(s: { channel: Channel; address: string; symbols: readonly string[]; ttlS: number; at?: number; fallbackFor?: string }): Promise<SubscriberId> {
    const id = subscriberId(s.channel, s.address);
    const record: PendingSignup = {
      channel: s.channel,
      address: s.address,
      symbols: [...s.symbols],
      createdAt: s.at ?? Date.now(),
      ...(s.fallbackFor !== undefined && { fallbackFor: s.fallbackFor }),
    };
    await this.#redis.set(this.#keys.pendingSignup(id), JSON.stringify(record), 'EX', s.ttlS);
    return id;
  }

  async get(id: SubscriberId | string): Promise<PendingSignup | undefined> {
    return decode(await this.#redis.get(this.#keys.pendingSignup(id)));
  }

  /** Forgets the pending signup (after a YES made it a subscription, or a NO); true when there was one. */
  async cancel(id: SubscriberId | string): Promise<boolean> {
    return (await this.#redis.del(this.#keys.pendingSignup(id))) === 1;
  }
}

function decode(raw: string | null): PendingSignup | undefined {
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as PendingSignup;
    return Array.isArray(v.symbols) && typeof v.channel === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
