import {
  CHANNEL_RULES,
  fallbackConfirmJobId,
  humanDuration,
  replyJobId,
  parseSubscriberId,
  subscriberId,
  type AlertStore,
  type ConfirmationBudget,
  type InboundMessage,
  type Logger,
  type PendingSignups,
  type PriceCache,
  type ReplyPacer,
  type SubscriptionStore,
} from '@tickercast/shared';
import { parseCommand } from './commands.ts';
import type { LastSentPrices } from './last-sent.ts';
import { localClockText } from './quiet-hours.ts';
import * as texts from './texts.ts';
import { zoneForAddress } from './time-zones.ts';

export interface InboundDeps {
  store: SubscriptionStore;
  alerts: AlertStore;
  prices: PriceCache;
  /** Where replies go: ahead of the feed, paced past a share of the channel's rate. */
  replies: ReplyPacer;
  lastSent: LastSentPrices;
  offered: readonly string[];
  logger: Logger;
  /** Web signups (and SMS fallbacks) awaiting a YES; without it a YES or NO is answered with the help text. */
  signups?: PendingSignups;
  /** How long a named fallback number has to say YES (SIGNUP_PENDING_TTL_S). */
  pendingTtlS?: number;
  /** The budgets a text asking a number for its YES spends, the web signup's too: without it, no such text goes. */
  confirmations?: ConfirmationBudget;
}

/**
 * Acts on one message from a person: updates their subscriptions, then queues the reply. The
 * reply's job id derives from the inbound job, so a retried inbound job replies once.
 */
export function createInboundProcessor(deps: InboundDeps) {
  const offeredSet = new Set(deps.offered);
  return async (message: InboundMessage, jobId: string): Promise<string> => {
    const { store, prices, replies, offered } = deps;
    // Never later than now: the ingress clamps too, but a job may come from elsewhere (Bull Board, an older ingress).
    const at = Math.min(Date.parse(message.receivedAt) || Date.now(), Date.now());
    const id = subscriberId(message.channel, message.from);
    await store.touch(message.channel, message.from, at);
    const command = parseCommand(message.text, offeredSet);

    const subscribe = async (symbols: string[], unknown: string[]): Promise<string> => {
      await store.subscribe(message.channel, message.from, symbols, at);
      const quotes = await prices.getMany(symbols);
      // The confirmation shows these prices: the next update's change is measured from them.
      await deps.lastSent.set(id, Object.fromEntries([...quotes].map(([s, q]) => [s, q.price])));
      return texts.subscribedText(symbols, quotes, unknown, offered);
    };

    let reply: string;
    switch (command.kind) {
      case 'help': {
        const sub = await store.get(id);
        reply = texts.helpText(offered, message.channel, sub?.fallback, sub ?? {});
        break;
      }
      case 'unknown-symbols':
        reply = texts.unknownSymbolsText(command.unknown, offered);
        break;
      case 'subscribe':
        reply = await subscribe(command.symbols, command.unknown);
        break;
      case 'confirm': {
        // One YES answers everything this number was asked: a web signup and a fallback request both.
        const { signup, fallbackFor } = (await deps.signups?.pending(id)) ?? {};
        const answers: string[] = [];
        // A web signup becomes a subscription only now, by the person's own YES. Forgotten only once
        // acted on, so a retried job still finds it; subscribing or setting a fallback twice is harmless.
        const symbols = signup?.symbols.filter((s) => offeredSet.has(s)) ?? [];
        if (symbols.length > 0) answers.push(await subscribe(symbols, []));
        if (fallbackFor) {
          // This number agreed to be the SMS fallback of the subscriber who named it.
          await store.setFallback(fallbackFor, { channel: message.channel, address: message.from }, at);
          answers.push(texts.fallbackConfirmedText(parseSubscriberId(fallbackFor).channel));
        }
        reply = answers.length > 0 ? answers.join('\n') : texts.helpText(offered);
        if (signup || fallbackFor) await deps.signups?.cancel(id);
        break;
      }
      case 'decline': {
        const { signup, fallbackFor } = (await deps.signups?.pending(id)) ?? {};
        const answers = [...(signup ? [texts.signupDeclinedText()] : []), ...(fallbackFor ? [texts.fallbackDeclinedText()] : [])];
        if (answers.length > 0) await deps.signups?.cancel(id);
        reply = answers.length > 0 ? answers.join('\n') : texts.helpText(offered);
        break;
      }
      case 'fallback': {
        const rule = CHANNEL_RULES[message.channel].smsFallback;
        if (rule === 'none') {
          reply = texts.fallbackOnSmsText();
        } else if (command.number === undefined || (rule === 'the address' && command.number === message.from)) {
          if (rule === 'the address') {
            const fallback = { channel: 'sms' as const, address: message.from };
            await store.setFallback(id, fallback, at);
            reply = texts.fallbackSetText(message.channel, fallback);
          } else {
            reply = texts.fallbackNeedsNumberText(message.channel);
          }
        } else if (!deps.signups || !deps.confirmations) {
          reply = texts.fallbackNeedsNumberText(message.channel);
        } else {
          // A number that is not this person's own on record: it must agree first, as a web signup does,
          // and the text asking it is paid for: the same budgets as the web signup's, and one per person.
          const { number } = command;
          const target = subscriberId('sms', number);
          const budget = deps.confirmations;
          const spent = await budget.check(id, target);
          if (!spent.allowed) {
            deps.logger.warn({ channel: message.channel, limit: spent.limit }, 'fallback confirmation refused: budget spent');
            reply = texts.fallbackLimitedText(spent.limit, humanDuration(spent.retryAfterMs));
            break;
          }
          await deps.signups.requestFallback({ channel: 'sms', address: command.number, owner: id, ttlS: deps.pendingTtlS ?? 3600 });
          await replies.add('sms', 'fallback-confirm', { subscriberId: target, text: texts.fallbackConfirmRequestText(message.channel) }, fallbackConfirmJobId(jobId));
          reply = texts.fallbackAskedText(message.channel, command.number);
        }
        break;
      }
      case 'fallback-off':
        reply = texts.fallbackOffText(await store.clearFallback(id, at));
        break;
      case 'bad-fallback':
        reply = texts.badFallbackText(command.problem, message.channel);
        break;
      case 'stop': {
        await store.unsubscribe(id, command.symbols, at);
        const remaining = (await store.get(id))?.symbols ?? [];
        reply = texts.stoppedSomeText(command.symbols, remaining);
        break;
      }
      case 'stop-all':
        await store.stop(id, at);
        reply = texts.stoppedAllText();
        break;
      case 'start': {
        const symbols = await store.start(id, at);
        reply = texts.startedText(symbols, offered);
        break;
      }
      case 'every':
        await store.setInterval(id, command.intervalMs, at);
        reply = texts.everyText(command.intervalMs);
        break;
      case 'bad-every':
        reply = texts.badEveryText();
        break;
      case 'quiet': {
        const quiet = { startMin: command.startMin, endMin: command.endMin };
        // Without a zone of their own, their number's country suggests one, kept as theirs (and said so).
        const guess = await zoneForAddress(message.channel, message.from);
        const { timeZone, suggested } = await store.setQuiet(id, quiet, guess?.zone, at);
        reply = texts.quietSetText(quiet, suggested && guess ? { from: 'number', guess } : timeZone ? { from: 'theirs', zone: timeZone } : { from: 'none' });
        break;
      }
      case 'quiet-off':
        reply = texts.quietOffText(await store.clearQuiet(id, at));
        break;
      case 'bad-quiet':
        reply = texts.badQuietText(command.problem);
        break;
      case 'time-zone': {
        const quiet = await store.setTimeZone(id, command.zone, at);
        reply = texts.timeZoneSetText(command.zone, localClockText(command.zone, at), quiet);
        break;
      }
      case 'time-zone-off': {
        // Back to what their number suggests, as a first QUIET would have it; UTC where it suggests none.
        const guess = await zoneForAddress(message.channel, message.from);
        const quiet = await store.setTimeZone(id, guess?.zone, at);
        reply = guess ? texts.timeZoneFromNumberText(guess, localClockText(guess.zone, at), quiet) : texts.timeZoneOffText(quiet);
        break;
      }
      case 'bad-time-zone':
        reply = texts.badTimeZoneText(command.problem);
        break;
      case 'list': {
        const sub = await store.get(id);
        const active = sub?.status === 'active';
        const symbols = active ? sub.symbols : [];
        const alerts = active ? await deps.alerts.list(id) : [];
        const quotes = await prices.getMany([...new Set([...symbols, ...alerts.map((a) => a.symbol)])]);
        reply = texts.listText(symbols, quotes, offered, sub?.fallback, sub ?? {}, alerts);
        break;
      }
      case 'alert': {
        const quote = await prices.get(command.symbol);
        if (!quote) {
          reply = texts.alertNoPriceText(command.symbol);
          break;
        }
        const { symbol, rule, level, urgent } = command;
        const { replacedFeed } = await deps.alerts.set(message.channel, message.from, { symbol, kind: rule, level, urgent, price: quote.price }, at);
        reply = texts.alertSetText(symbol, rule, level, quote.price, urgent, replacedFeed);
        break;
      }
      case 'alert-off':
        reply = texts.alertOffText(command.symbols, await deps.alerts.remove(id, command.symbols, at));
        break;
      case 'bad-alert':
        reply = texts.badAlertText(command.problem, command.suggestion);
        break;
    }
    await replies.add(message.channel, 'reply', { subscriberId: id, text: reply }, replyJobId(jobId));
    deps.logger.debug({ command: command.kind, channel: message.channel }, 'inbound handled');
    return command.kind;
  };
}

