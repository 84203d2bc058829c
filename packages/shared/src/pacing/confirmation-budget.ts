import { callingCode } from '@tickercast/messages-client';
import { parseSubscriberId } from '../channels.ts';
import type { RedisKeys } from '../keys.ts';
import type { RedisClient } from '../runtime/redis.ts';
import { FixedWindowCounter } from './fixed-window-counter.ts';

const HOUR_MS = 60 * 60 * 1000;
const MINUTE_MS = 60 * 1000;

/** The limits on the confirmation texts we pay for (the SIGNUP_* variables). */
export interface ConfirmationLimits {
  /** Requests per requester (a web client's address, a subscriber) per hour. */
  perRequesterPerHour: number;
  /** Confirmations to one number per day. */
  perNumberPerDay: number;
  /** Confirmations per destination calling code per minute. */
  countryBudgetPerMinute: number;
  /** Confirmations per minute over everyone. */
  budgetPerMinute: number;
}

export type BudgetDecision = { allowed: true } | { allowed: false; limit: 'requester' | 'number' | 'country' | 'all'; retryAfterMs: number };

/**
 * Whether one more confirmation text may go: a web signup's (ingress) or an SMS fallback's
 * (dispatcher) ask a number for its YES, and both spend the same per-number, per-country and
 * overall budgets, so neither path can be used to text a stranger more often than the other
 * allows. Each requester kind has its own scope. A refused request still counts, as a flood
 * should not be cheaper than one that waits.
 */
export class ConfirmationBudget {
  readonly #requester: FixedWindowCounter;
  readonly #number: FixedWindowCounter;
  readonly #country: FixedWindowCounter;
  readonly #all: FixedWindowCounter;

  constructor(redis: RedisClient, keys: RedisKeys, requesterScope: 'signup-client' | 'fallback-requester', limits: ConfirmationLimits) {
    const counter = (scope: string, max: number, windowMs: number) => new FixedWindowCounter({ redis, keys, scope, max, windowMs });
    this.#requester = counter(requesterScope, limits.perRequesterPerHour, HOUR_MS);
    this.#number = counter('signup-number', limits.perNumberPerDay, 24 * HOUR_MS);
    this.#country = counter('signup-country', limits.countryBudgetPerMinute, MINUTE_MS);
    this.#all = counter('signup-all', limits.budgetPerMinute, MINUTE_MS);
  }

  /** The requester's own limit alone (the web form checks it before it even reads the number). */
  async requester(subject: string): Promise<BudgetDecision> {
    const d = await this.#requester.hit(subject);
    return d.allowed ? { allowed: true } : { allowed: false, limit: 'requester', retryAfterMs: d.resetMs };
  }

  /** The budgets of the subscriber `id` to be texted: their number's, its country's (calling code) and the overall one, in that order. */
  async destination(id: string): Promise<BudgetDecision> {
    const country = callingCode(parseSubscriberId(id).address) ?? 'unknown';
    for (const [limit, counter, subject] of [
      ['number', this.#number, id],
      ['country', this.#country, country],
      ['all', this.#all, 'all'],
    ] as const) {
      const d = await counter.hit(subject);
      if (!d.allowed) return { allowed: false, limit, retryAfterMs: d.resetMs };
    }
    return { allowed: true };
  }

  /** The requester's limit, then (only if it allows) the destination's budgets. */
  async check(requester: string, id: string): Promise<BudgetDecision> {
    const first = await this.requester(requester);
    return first.allowed ? this.destination(id) : first;
  }
}

/** "5 minutes", "3 hours": how long until a limit lets a request through again, for a person. */
export function humanDuration(ms: number): string {
  const minutes = Math.max(1, Math.ceil(ms / 60_000));
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  return `${Math.round(minutes / 60)} hours`;
}
