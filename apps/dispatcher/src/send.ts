import {
  InvalidRequestError,
  isRetryable,
  MessageValidationError,
  MessagesError,
  RateLimitedError,
  type MessagesClient,
  type OutboundMessage,
} from '@tickercast/messages-client';
import {
  CHANNEL_RULES,
  parseSubscriberId,
  subscriberId,
  type Alert,
  type AlertStore,
  type Channel,
  type ChannelRule,
  type DeliveryLog,
  type DueIndex,
  type Fallback,
  type PriceCache,
  type PriceQuote,
  type PricesRead,
  type SendJob,
  type SubscriptionStore,
} from '@tickercast/shared';
import { lastSentFields, type LastSentPrices } from './last-sent.ts';
import { outboundFor, priceTtlS, type OutboundSettings, type OutboundSkip } from './outbound.ts';
import { quietUntil, type QuietWindow } from './quiet-hours.ts';
import { alertLine, priceLine } from './texts.ts';

export interface SendDeps {
  /** The provider (its channel's send window around it: dispatcher.ts). */
  client: Pick<MessagesClient, 'send'>;
  store: SubscriptionStore;
  prices: PriceCache;
  lastSent: LastSentPrices;
  due: DueIndex;
  /** Settles the fired alerts a feed send carried. */
  alerts: AlertStore;
  deliveries: DeliveryLog;
  senders: Record<Channel, string>;
  outbound: OutboundSettings;
  /** The clock of the feed's holds (EVERY, quiet hours): tests set it. */
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
export type SkipReason = 'not subscribed' | 'no price yet' | 'price unchanged' | 'held (EVERY)' | 'held (quiet hours)' | OutboundSkip;

/**
 * When a send to someone in their quiet hours may go: undefined for now (not quiet, or an urgent
 * send, which quiet hours never hold), else when their quiet hours end. Only the feed asks:
 * replies to what a person wrote are never held.
 */
export function quietHoldUntil(quiet: QuietWindow | undefined, now: number, urgent: boolean): number | undefined {
  return urgent ? undefined : quietUntil(quiet, now);
}

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
  /** `tickedAt`: for a feed message, the newest tick it carries. */
  | { kind: 'sent'; messageUuid: string; text: string; tickedAt?: number }
  | { kind: 'skipped'; why: SkipReason }
  /** Every slot within reach of the channel's schedule is taken: hand the job back for `restMs`. */
  | { kind: 'no-slot'; restMs: number }
  /** The provider said "slow down" (429). */
  | { kind: 'rate-limited'; retryAfterMs: number }
  /** A 5xx or no answer: the same request may succeed later. */
  | { kind: 'provider-down'; error: MessagesError }
  | { kind: 'refused'; reason: RefusalReason; error: MessagesError };

/**
 * Waits for this send's slot on the channel's schedule (SendPacer.waitForSlot), or says how long to
 * rest when none is near. `failoverOn`: the message carries a failover leg on that channel, which
 * takes a slot there too (without waiting for it: the provider sends the leg later, if at all).
 */
export type Pace = (failoverOn?: Channel) => Promise<{ waitedMs: number } | { restMs: number }>;

/**
 * A feed send whose prices were read longer ago than this, when its slot comes, reads them again
 * and sends the latest: one more read on a send that waited, none on one that did not.
 */
const FRESH_MS = 50;

/** The separator between the tickers of one feed message. */
export const TICKER_SEPARATOR = ' · ';

/**
 * Groups lines, in order, into messages of at most `max` characters once joined with
 * TICKER_SEPARATOR; a line longer than that is a message of its own (the channel then cuts it).
 */
export function packLines(lines: readonly string[], max: number): number[][] {
  const groups: number[][] = [];
  let length = 0;
  lines.forEach((line, i) => {
    const last = groups[groups.length - 1];
    if (last && length + TICKER_SEPARATOR.length + line.length <= max) {
      last.push(i);
      length += TICKER_SEPARATOR.length + line.length;
    } else {
      groups.push([i]);
      length = line.length;
    }
  });
  return groups;
}

/** One message of a feed turn: its text, the tickers (with their prices) it carries, and the symbols of its fired alerts (with theirs). */
interface FeedPart {
  text: string;
  prices: Record<string, number>;
  alerted: Record<string, number>;
}

/**
 * Sends one job. A feed send reads the subscriber's symbols and the latest prices now (not when
 * it was queued) and re-checks the subscription, so a STOP that arrived meanwhile wins. It sends
 * every ticker of theirs that changed, in one message where the channel's length allows.
 */
export function createSendProcessor(deps: SendDeps) {
  const clock = deps.now ?? Date.now;

  /** Sends one text; the provider's answer, or an outcome that ends the job. */
  const deliver = async (
    channel: Channel,
    address: string,
    text: string,
    clientRef: string,
    lastInboundAt: number | undefined,
    pace: Pace,
    /** Asked once the slot is taken, last before the request: a reason not to send after all, or the text to send instead. */
    recheck: ((waitedMs: number) => Promise<SkipReason | { text: string } | undefined>) | undefined,
    /** `failover`: a fallback `failoverTo` found still wanted. */
    extra: { ttlS?: number | undefined; optIn?: boolean | undefined; failover?: Fallback | undefined } = {},
  ): Promise<{ messageUuid: string; workflowId?: string } | SendOutcome> => {
    const { failover, ...options } = extra;
    const build = (body: string): OutboundMessage | SkipReason => {
      const decision = outboundFor({ channel, to: address, from: deps.senders[channel], text: body, clientRef, lastInboundAt, now: clock(), ...options }, deps.outbound);
      if ('skip' in decision) return decision.skip;
      const message: OutboundMessage = decision.send;
      // The provider's own failover: if this message is rejected or undeliverable, Vonage sends the
      // SMS itself, with no round trip through us.
      if (failover) message.failover = [{ channel: 'sms', to: failover.address, from: deps.senders.sms, text: body, clientRef, ...(options.ttlS !== undefined && { ttl: options.ttlS }) }];
      return message;
    };
    let message = build(text);
    if (typeof message === 'string') return { kind: 'skipped', why: message };
    const slot = await pace(failover?.channel);
    if ('restMs' in slot) return { kind: 'no-slot', restMs: slot.restMs };
    const after = recheck ? await recheck(slot.waitedMs) : undefined;
    if (typeof after === 'string') return { kind: 'skipped', why: after };
    if (after) {
      message = build(after.text);
      if (typeof message === 'string') return { kind: 'skipped', why: message };
    }
    try {
      return await deps.client.send(message);
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
  };

  /**
   * The fallback a send on `channel` fails over to, read once per job, not per message: none when
   * it is that channel, or when its number sent STOP on SMS (it opted out there, and its failover
   * legs end with it). Its own record, read apart: it lives in another slot than the subscriber's.
   */
  const failoverTo = async (channel: Channel, fallback: Fallback | undefined): Promise<Fallback | undefined> =>
    fallback && fallback.channel !== channel && (await deps.store.isActive(subscriberId(fallback.channel, fallback.address))) ? fallback : undefined;

  const reply = async (job: Extract<SendJob, { kind: 'reply' }>, jobId: string, pace: Pace): Promise<SendOutcome> => {
    const { channel, address } = parseSubscriberId(job.subscriberId);
    const context = await deps.lastSent.replyState(job.subscriberId);
    const answer = await deliver(channel, address, job.text, jobId, context.lastInboundAt, pace, undefined, { optIn: job.optIn, failover: await failoverTo(channel, context.fallback) });
    if ('kind' in answer) return answer;
    await deps.deliveries.recordSent({ messageUuid: answer.messageUuid, subscriberId: job.subscriberId, channel, text: job.text, workflowId: answer.workflowId });
    return { kind: 'sent', messageUuid: answer.messageUuid, text: job.text };
  };

  /**
   * The prices of `wanted`, read beside the subscriber's record where the job named them (`early`,
   * a read of `hinted` begun with it) and the rest now: served up to the earlier read.
   */
  const pricesOf = async (wanted: readonly string[], hinted: readonly string[], early: Promise<PricesRead> | undefined): Promise<PricesRead> => {
    const rest = early ? wanted.filter((s) => !hinted.includes(s)) : wanted;
    const [first, second] = await Promise.all([early, rest.length > 0 || !early ? deps.prices.read(rest) : undefined]);
    const quotes = new Map<string, PriceQuote>();
    for (const read of [first, second]) for (const s of wanted) if (read?.quotes.has(s)) quotes.set(s, read.quotes.get(s)!);
    const times = [first?.readAt, second?.readAt].filter((t): t is string => t !== undefined);
    return { quotes, readAt: times.reduce((a, b) => (Number(b) < Number(a) ? b : a)) };
  };

  const feed = async (id: string, hinted: readonly string[], jobId: string, pace: Pace): Promise<SendOutcome> => {
    const { channel, address } = parseSubscriberId(id);
    // The prices the refill found them due on, read beside their record rather than after it.
    const early = hinted.length > 0 ? deps.prices.read(hinted) : undefined;
    early?.catch(() => undefined); // awaited below, or not needed (a STOP, a hold)
    const state = await deps.lastSent.feedState(id);
    // Every way out settles them in the due index (their claim ends), except the ones that retry.
    const settle = (served: string | 0, holdUntil = 0) => deps.due.settle([id], state.symbols, served, holdUntil);
    // Fired alerts by symbol: each symbol's alerts are one line, ahead of the plain tickers.
    const firedBy = new Map<string, Alert[]>();
    for (const a of state.fired) firedBy.set(a.symbol, [...(firedBy.get(a.symbol) ?? []), a]);
    const alertSymbols = [...firedBy.keys()];
    /** The fired alerts carried at these prices (or given up on): armed again around them, or spent. */
    const settleAlerts = async (at: Record<string, number>) => {
      const sent = state.fired.filter((a) => at[a.symbol] !== undefined).map((alert) => ({ alert, price: at[alert.symbol]! }));
      if (sent.length > 0) await deps.alerts.settle(id, sent);
    };
    if (!state.subscribed) {
      await settle(0);
      return { kind: 'skipped', why: 'not subscribed' };
    }
    // Quiet hours hold the whole turn, fired alerts too (claimed until then); an urgent alert
    // (ALERT … NOW) goes through them, alone, and the plain feed stays held (below).
    const quietEnd = quietHoldUntil(state.quiet, clock(), state.urgent);
    if (quietEnd !== undefined) {
      // Held until they end, served nothing (0), so they are due then on whatever is newer than
      // their last update: the first message after carries the latest prices.
      await Promise.all([settle(0, quietEnd), alertSymbols.length > 0 ? deps.alerts.claim([id], quietEnd) : undefined]);
      return { kind: 'skipped', why: 'held (quiet hours)' };
    }
    const quietPlainEnd = quietUntil(state.quiet, clock()) ?? 0;
    const { quotes, readAt } = await pricesOf(alertSymbols.length > 0 ? [...new Set([...state.symbols, ...alertSymbols])] : state.symbols, hinted, early);
    const readPerf = performance.now();
    /** Gives up on the fired alerts at the prices read: a message that cannot go must not come round again and again. */
    const giveUpAlerts = () => settleAlerts(Object.fromEntries(alertSymbols.filter((s) => quotes.has(s)).map((s) => [s, quotes.get(s)!.price])));
    if (quotes.size === 0) {
      await settle(0);
      return { kind: 'skipped', why: 'no price yet' };
    }
    const now = clock();
    const lastAt = Math.max(0, ...[...state.previous.values()].map((p) => p.at));
    // EVERY (and quiet hours, when an urgent alert goes through them) hold the plain feed; an alert that fired goes anyway, alone.
    const heldUntil = Math.max(state.intervalMs && lastAt > 0 && now < lastAt + state.intervalMs ? lastAt + state.intervalMs : 0, quietPlainEnd);
    if (heldUntil > 0 && alertSymbols.length === 0) {
      // EVERY: not yet. The index holds them until then (served nothing new: 0), and they are
      // due again after, on the prices of then.
      await settle(0, heldUntil);
      return { kind: 'skipped', why: 'held (EVERY)' };
    }
    const changed =
      heldUntil > 0
        ? []
        : state.symbols.filter((s) => {
            const q = quotes.get(s);
            return q !== undefined && q.price !== state.previous.get(s)?.price;
          });
    const alerting = alertSymbols.filter((s) => quotes.has(s));
    if (changed.length === 0 && alerting.length === 0) {
      // Served up to this read: a price written after it makes them due again.
      await settle(readAt);
      return { kind: 'skipped', why: 'price unchanged' };
    }
    /** One message: these alerts and tickers at these prices, each ticker with its change since they last got it. */
    const partOf = (alerted: readonly string[], symbols: readonly string[], at: ReadonlyMap<string, { price: number }>): FeedPart => ({
      text: [
        ...alerted.map((s) => alertLine(s, at.get(s)!.price, firedBy.get(s)!)),
        ...symbols.map((s) => priceLine(s, at.get(s)!.price, state.previous.get(s)?.price)),
      ].join(TICKER_SEPARATOR),
      prices: Object.fromEntries(symbols.map((s) => [s, at.get(s)!.price])),
      alerted: Object.fromEntries(alerted.map((s) => [s, at.get(s)!.price])),
    });
    // Lines in order: the alerts, then the plain tickers; `alerting.length` tells them apart.
    const lines = [...alerting.map((s) => alertLine(s, quotes.get(s)!.price, firedBy.get(s)!)), ...changed.map((s) => priceLine(s, quotes.get(s)!.price, state.previous.get(s)?.price))];
    const rule: ChannelRule = CHANNEL_RULES[channel];
    const groups = rule.feedMessage === 'per ticker' ? lines.map((_, i) => [i]) : packLines(lines, rule.replyTextMax);
    const parts: FeedPart[] = groups.map((g) =>
      partOf(
        g.filter((i) => i < alerting.length).map((i) => alerting[i]!),
        g.filter((i) => i >= alerting.length).map((i) => changed[i - alerting.length]!),
        quotes,
      ),
    );
    const sent: { messageUuid: string; text: string }[] = [];
    // A price the network cannot deliver in time is worthless: the provider drops it past this.
    const ttlS = priceTtlS(channel, state.intervalMs, deps.outbound);
    const failover = await failoverTo(channel, state.fallback);
    let served = readAt;
    const alertsLeft = new Set(alerting);
    /** Where the turn leaves them in the due index: served up to `served` and held until `holdUntil`, unless the plain feed was held anyway (an alert went alone). */
    const settling = (holdUntil: number): [string | 0, number] => (heldUntil > 0 ? [0, heldUntil] : [served, holdUntil]);
    const lastPart = parts[parts.length - 1];
    for (const part of parts) {
      const recheck = async (waitedMs: number): Promise<SkipReason | { text: string } | undefined> => {
        // A STOP may have come while this send waited for its slot: the check before is that old.
        if (waitedMs > 1 && !(await deps.store.isActive(id))) return 'not subscribed';
        // So may a newer price. A send held up long enough (its slot, a Redis failover) goes with
        // the latest prices, not the ones it read: latest value wins, even over an update for the
        // same person that overtook it while it waited.
        if (performance.now() - readPerf <= FRESH_MS) return undefined;
        const symbols = Object.keys(part.prices);
        const alerted = Object.keys(part.alerted);
        const again = await deps.prices.read([...alerted, ...symbols]);
        if (symbols.every((s) => again.quotes.get(s)?.price === part.prices[s]) && alerted.every((s) => again.quotes.get(s)?.price === part.alerted[s])) return undefined;
        const priced = symbols.filter((s) => again.quotes.has(s));
        Object.assign(part, partOf(alerted.filter((s) => again.quotes.has(s)), priced, again.quotes));
        for (const s of [...alerted, ...priced]) if (again.quotes.has(s)) quotes.set(s, again.quotes.get(s)!);
        // Served up to this read only when this message carries all of their tickers; else a move
        // of another one since the first read must still make them due.
        if (parts.length === 1 && changed.length === state.symbols.length) served = again.readAt;
        return { text: part.text };
      };
      // Every message of the turn carries the job's id: what the send window's place and the delivery log know it by.
      const answer = await deliver(channel, address, part.text, jobId, state.lastInboundAt, pace, recheck, { ttlS, failover });
      if ('kind' in answer) {
        // Skipped or refused: this turn is over. Anything else goes back to the queue and retries.
        if (answer.kind === 'skipped' || answer.kind === 'refused') {
          await settle(...settling(0));
          if (alertsLeft.size > 0) await giveUpAlerts();
        }
        return answer;
      }
      // Recorded per message: a retry after a failure further on sends only the rest.
      const remember = async () => {
        // A fired alert is settled before the due index lets them go: a refill in between would find it still fired, and send it again.
        if (Object.keys(part.alerted).length > 0) await settleAlerts(part.alerted);
        if (part !== lastPart) return deps.lastSent.set(id, part.prices, clock());
        // The turn's end: what it carried, its history entry and their place in the due index, in one script.
        return deps.due.settleSent(id, state.symbols, ...settling(state.intervalMs && changed.length > 0 ? now + state.intervalMs : 0), {
          lastSent: lastSentFields(part.prices, clock()),
          history: deps.deliveries.historyEntry(id, answer.messageUuid),
        });
      };
      const record = { messageUuid: answer.messageUuid, subscriberId: id, channel, text: part.text, workflowId: answer.workflowId };
      await Promise.all([remember(), deps.deliveries.recordSent(record, { history: part !== lastPart })]);
      for (const s of Object.keys(part.alerted)) alertsLeft.delete(s);
      sent.push({ messageUuid: answer.messageUuid, text: part.text });
    }
    const carried = [...changed, ...alerting];
    return { kind: 'sent', messageUuid: sent[sent.length - 1]!.messageUuid, text: sent.map((m) => m.text).join('\n'), tickedAt: Math.max(...carried.map((s) => quotes.get(s)!.tickedAt)) };
  };

  return async (job: SendJob, jobId: string, pace: Pace): Promise<SendOutcome> =>
    job.kind === 'reply' ? reply(job, jobId, pace) : feed(job.subscriberId, (job.kind === 'feed' && job.symbols) || [], jobId, pace);
}
