import { UnrecoverableError } from 'bullmq';
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
import { outboundFor, type ChannelRules } from './outbound.ts';
import { priceLine } from './texts.ts';

export interface SendDeps {
  client: MessagesClient;
  store: SubscriptionStore;
  prices: PriceCache;
  lastSent: LastSentPrices;
  deliveries: DeliveryLog;
  senders: Record<Channel, string>;
  rules: ChannelRules;
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

export type SendOutcome = { sent: true; messageUuid: string; text: string } | { sent: false; reason: string };

/** What the worker does for the processor: each hands the job back, when it must, without spending an attempt. */
export interface SendControl {
  /** Waits for this send's slot in the channel's schedule (or hands the job back when none is near); resolves with the ms waited. */
  pace(): Promise<number>;
  /** The provider answered (a success, or a refusal of this message): it is up. */
  providerAnswered(): void;
  /** The provider failed this send (a 5xx, or no answer). Resolves when the failure should spend an attempt; hands the job back when the provider looks down. */
  providerFailed(): Promise<void>;
  /** The provider said "slow down": pause this channel's queue for `waitMs`. */
  rateLimited(waitMs: number): Promise<never>;
  /** Too early for this subscriber (EVERY): run the job again at `at`, reading the price then. */
  deferUntil(at: number): Promise<never>;
}

/**
 * Sends one job. A price send reads the latest price now (not when it was queued) and re-checks
 * the subscription, so a STOP that arrived meanwhile wins.
 */
export function createSendProcessor(deps: SendDeps) {
  return async (job: SendJob, jobId: string, control: SendControl): Promise<SendOutcome> => {
    const { channel, address } = parseSubscriberId(job.subscriberId);
    const now = (deps.now ?? Date.now)();
    let context: { lastInboundAt: number | undefined; intervalMs: number | undefined };
    let text: string;
    let remember: (() => Promise<unknown>) | undefined;

    if (job.kind === 'reply') {
      context = await deps.store.sendContext(job.subscriberId);
      text = job.text;
    } else {
      // What the decision needs, in one round trip: the subscriber's side in one command, the latest price alongside.
      const [state, quote] = await Promise.all([deps.lastSent.sendState(job.subscriberId, job.symbol), deps.prices.get(job.symbol)]);
      const { previous } = state;
      context = state;
      if (!state.subscribed) return { sent: false, reason: 'not subscribed' };
      if (!quote) return { sent: false, reason: 'no price yet' };
      if (previous && context.intervalMs && now < previous.at + context.intervalMs) return control.deferUntil(previous.at + context.intervalMs);
      if (previous?.price === quote.price) return { sent: false, reason: 'price unchanged' };
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
      deps.rules,
    );
    if ('skip' in decision) return { sent: false, reason: decision.skip };

    const waitedMs = await control.pace();
    // A STOP may have come while this send waited for its slot: the check above is that old.
    if (job.kind === 'price' && waitedMs > 1 && !(await deps.store.isSubscribed(job.subscriberId, job.symbol))) {
      return { sent: false, reason: 'not subscribed' };
    }
    try {
      const { messageUuid } = await deps.client.send(decision.send);
      control.providerAnswered();
      await Promise.all([remember?.(), deps.deliveries.recordSent({ messageUuid, subscriberId: job.subscriberId, channel, text })]);
      return { sent: true, messageUuid, text };
    } catch (err) {
      if (err instanceof RateLimitedError) return control.rateLimited(err.retryAfterMs ?? 1000);
      if (isRetryable(err)) {
        await control.providerFailed();
        throw err;
      }
      if (err instanceof MessagesError) control.providerAnswered();
      if (recipientIsDead(err)) {
        // Nothing will ever reach this address: stop feeding it, and keep the reason on the failed job.
        await deps.store.stop(subscriberId(channel, address));
        throw new UnrecoverableError(`recipient unreachable, unsubscribed: ${(err as Error).message}`);
      }
      if (err instanceof MessagesError && !isRetryable(err)) throw new UnrecoverableError(`${err.name}: ${err.message}`);
      throw err;
    }
  };
}
