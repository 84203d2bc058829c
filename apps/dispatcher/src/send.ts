import {
  InvalidRequestError,
  isRetryable,
  MessageValidationError,
  MessagesError,
  RateLimitedError,
  type MessagesClient,
} from '@tickercast/messages-client';
import {
  parseSubscriberId,
  subscriberId,
  type Channel,
  type DeliveryLog,
  type PriceCache,
  type SendJob,
  type SubscriptionStore,
} from '@tickercast/shared';
import type { LastSentPrices } from './last-sent.ts';
import { outboundFor, type OutboundSettings, type OutboundSkip } from './outbound.ts';
import { priceLine } from './texts.ts';

export interface SendDeps {
  /** The provider (its channel's send window around it: dispatcher.ts). */
  client: Pick<MessagesClient, 'send'>;
  store: SubscriptionStore;
  prices: PriceCache;
  lastSent: LastSentPrices;
  deliveries: DeliveryLog;
  senders: Record<Channel, string>;
  outbound: OutboundSettings;
  now?: () => number;
}

/** Vonage error codes that mean this recipient will never receive from us: barred, or opted out at the carrier. */
export const DEAD_RECIPIENT_CODES = new Set(['1050', '1240']);

function recipientIsDead(err: unknown): boolean {
  if (err instanceof MessageValidationError) return err.field === 'to';
  if (!(err instanceof InvalidRequestError)) return false;
  return (
    (err.code !== undefined && DEAD_RECIPIENT_CODES.has(err.code)) ||
    (err.problem.invalid_parameters ?? []).some((p) => p.name === 'to')
  );
}

/** Why a send job sent nothing and is done. */
export type SkipReason = 'not subscribed' | 'no price yet' | 'price unchanged' | OutboundSkip;

/** Why the message will never go: the job fails for good. */
export type RefusalReason =
  /** The address can never receive (barred, opted out at the carrier, not a valid number): the subscriber is stopped. */
  | 'recipient-unreachable'
  /** The client found the message invalid and sent nothing. */
  | 'invalid-message'
  /** The provider (or the client's own credentials) refused it: a 4xx other than 429. */
  | 'rejected';

/**
 * What became of one send. Only the worker turns these into BullMQ moves (complete, delay, rest
 * the queue, retry, fail): the processor decides, and never throws for a decision.
 */
export type SendOutcome =
  | { kind: 'sent'; messageUuid: string; text: string }
  | { kind: 'skipped'; why: SkipReason }
  /** Too early for this subscriber (EVERY): run again at `at`, reading the price then. */
  | { kind: 'deferred'; at: number }
  /** Every slot within reach of the channel's schedule is taken: hand the job back for `restMs`. */
  | { kind: 'no-slot'; restMs: number }
  /** The provider said "slow down" (429). */
  | { kind: 'rate-limited'; retryAfterMs: number }
  /** A 5xx or no answer: the same request may succeed later. */
  | { kind: 'provider-down'; error: MessagesError }
  | { kind: 'refused'; reason: RefusalReason; error: MessagesError };

/** Waits for this send's slot on the channel's schedule (SendPacer.waitForSlot), or says how long to rest when none is near. */
export type Pace = () => Promise<{ waitedMs: number } | { restMs: number }>;

/**
 * Sends one job. A price send reads the latest price now (not when it was queued) and re-checks
 * the subscription, so a STOP that arrived meanwhile wins.
 */
export function createSendProcessor(deps: SendDeps) {
  return async (job: SendJob, jobId: string, pace: Pace): Promise<SendOutcome> => {
    const { channel, address } = parseSubscriberId(job.subscriberId);
    const now = (deps.now ?? Date.now)();
    let context: { lastInboundAt: number | undefined; intervalMs: number | undefined };
    let text: string;
    let remember: (() => Promise<unknown>) | undefined;

    if (job.kind === 'reply') {
      context = await deps.lastSent.sendState(job.subscriberId);
      text = job.text;
    } else {
      // What the decision needs, in one round trip: the subscriber's side in one command, the latest price alongside.
      const [state, quote] = await Promise.all([deps.lastSent.sendState(job.subscriberId, job.symbol), deps.prices.get(job.symbol)]);
      const { previous } = state;
      context = state;
      if (!state.subscribed) return { kind: 'skipped', why: 'not subscribed' };
      if (!quote) return { kind: 'skipped', why: 'no price yet' };
      if (previous && context.intervalMs && now < previous.at + context.intervalMs) return { kind: 'deferred', at: previous.at + context.intervalMs };
      if (previous?.price === quote.price) return { kind: 'skipped', why: 'price unchanged' };
      text = priceLine(job.symbol, quote.price, previous?.price);
      remember = () => deps.lastSent.set(job.subscriberId, { [job.symbol]: quote.price });
    }

    const decision = outboundFor(
      {
        channel,
        to: address,
        from: deps.senders[channel],
        text,
        clientRef: jobId,
        lastInboundAt: context.lastInboundAt,
        now,
      },
      deps.outbound,
    );
    if ('skip' in decision) return { kind: 'skipped', why: decision.skip };

    const slot = await pace();
    if ('restMs' in slot) return { kind: 'no-slot', restMs: slot.restMs };
    // A STOP may have come while this send waited for its slot: the check above is that old.
    if (job.kind === 'price' && slot.waitedMs > 1 && !(await deps.store.isSubscribed(job.subscriberId, job.symbol))) {
      return { kind: 'skipped', why: 'not subscribed' };
    }
    let messageUuid: string;
    try {
      ({ messageUuid } = await deps.client.send(decision.send));
    } catch (err) {
      // Anything but the client's own errors is not the provider's answer: thrown, it is retried.
      if (!(err instanceof MessagesError)) throw err;
      if (err instanceof RateLimitedError) return { kind: 'rate-limited', retryAfterMs: err.retryAfterMs ?? 1000 };
      if (isRetryable(err)) return { kind: 'provider-down', error: err };
      if (recipientIsDead(err)) {
        // Nothing will ever reach this address: stop feeding it.
        await deps.store.stop(subscriberId(channel, address));
        return { kind: 'refused', reason: 'recipient-unreachable', error: err };
      }
      return { kind: 'refused', reason: err instanceof MessageValidationError ? 'invalid-message' : 'rejected', error: err };
    }
    await Promise.all([remember?.(), deps.deliveries.recordSent({ messageUuid, subscriberId: job.subscriberId, channel, text })]);
    return { kind: 'sent', messageUuid, text };
  };
}
