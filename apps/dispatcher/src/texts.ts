import { CHANNEL_RULES, type Channel, type Fallback, type PriceQuote, type QuietHours } from '@tickercast/shared';
import { clockText } from './quiet-hours.ts';
import type { ZoneGuess } from './time-zones.ts';

/** The texts the dispatcher sends: command replies and price lines. The web signup's confirmation is in apps/ingress/src/signup/texts.ts. */

/** A person's quiet hours and time zone, as the help and LIST show them. */
export interface QuietSettings {
  quiet?: QuietHours | undefined;
  timeZone?: string | undefined;
}

/**
 * `channel`: where the person writes from; off SMS, the help names FALLBACK SMS (and the fallback
 * they have). The help names QUIET, or the quiet hours they have.
 */
export function helpText(offered: readonly string[], channel?: Channel, fallback?: Fallback, { quiet, timeZone }: QuietSettings = {}): string {
  const lines = [
    'tickercast: live prices by message.',
    `Send a ticker to subscribe (${offered.join(', ')}), e.g. "${offered[0] ?? 'MSFT'}".`,
    `LIST shows yours, STOP ${offered[0] ?? 'MSFT'} drops one, STOP ends all, START resumes, EVERY 5m slows updates, HELP shows this.`,
    quiet ? `${quietLine(quiet, timeZone)} QUIET OFF ends them, TZ Europe/London sets your time zone.` : 'QUIET 22-07 holds updates overnight (TZ Europe/London sets your time zone).',
  ];
  if (channel !== undefined && CHANNEL_RULES[channel].smsFallback !== 'none') {
    lines.push(fallback ? `${fallbackLine(fallback)} FALLBACK OFF removes it.` : `${fallbackForm(channel)} gets your messages by SMS when ${CHANNEL_RULES[channel].label} cannot deliver them.`);
  }
  return lines.join('\n');
}

/** The right form of FALLBACK on a channel: with a number where the channel gives none we may text. */
export function fallbackForm(channel: Channel): string {
  return CHANNEL_RULES[channel].smsFallback === 'named' ? 'FALLBACK SMS +447700900123 (your number)' : 'FALLBACK SMS';
}

/** How a fallback is shown back to its owner (LIST, HELP). */
export function fallbackLine(fallback: Fallback): string {
  return `Fallback: ${CHANNEL_RULES[fallback.channel].label} to +${fallback.address}.`;
}

export function fallbackSetText(channel: Channel, fallback: Fallback): string {
  return `Done: when ${CHANNEL_RULES[channel].label} cannot deliver a message, it goes by SMS to +${fallback.address}. FALLBACK OFF removes it.`;
}

export function fallbackAskedText(channel: Channel, number: string): string {
  return `We texted +${number}: reply YES from that phone to get your ${CHANNEL_RULES[channel].label} messages there when ${CHANNEL_RULES[channel].label} cannot deliver them.`;
}

/** FALLBACK SMS +number refused: we text a number only so often, whoever asks. Nothing was sent. */
export function fallbackLimitedText(limit: 'requester' | 'number' | 'country' | 'all', retryIn: string): string {
  const why = limit === 'requester' ? 'You asked for several fallback numbers recently' : limit === 'number' ? 'That number was sent several confirmations recently' : 'We are sending many confirmations right now';
  return `${why}: nothing was sent. Try again in ${retryIn}.`;
}

/** Sent to the number a person named: nothing goes there until it says YES. */
export function fallbackConfirmRequestText(channel: Channel): string {
  return `tickercast: someone on ${CHANNEL_RULES[channel].label} asked to get their price messages here when ${CHANNEL_RULES[channel].label} cannot deliver them. Reply YES to agree, NO if it was not you.`;
}

export function fallbackConfirmedText(channel: Channel): string {
  return `Confirmed: tickercast messages for your ${CHANNEL_RULES[channel].label} come here when ${CHANNEL_RULES[channel].label} cannot deliver them. Reply STOP to end.`;
}

export function fallbackDeclinedText(): string {
  return 'OK, this number will not be used.';
}

export function fallbackOffText(had: boolean): string {
  return had ? 'Fallback removed: messages go only here now.' : 'You have no fallback. Nothing changed.';
}

/** The fallback number cannot be reached (barred, opted out): it is removed, and its owner told where the messages went. */
export function fallbackEndedText(fallback: Fallback): string {
  return `Your fallback SMS to +${fallback.address} could not be delivered (the number is barred or opted out), so it is removed. FALLBACK SMS +number sets another.`;
}

export function fallbackOnSmsText(): string {
  return 'You are on SMS already: FALLBACK SMS is for WhatsApp, Messenger and Viber. Nothing changed.';
}

export function fallbackNeedsNumberText(channel: Channel): string {
  return `${CHANNEL_RULES[channel].label} does not give us a number to text. Send ${fallbackForm(channel)}. Nothing changed.`;
}

export function badFallbackText(problem: string, channel: Channel): string {
  return `Sorry, not understood: ${problem}. Send ${fallbackForm(channel)}, or FALLBACK OFF. Nothing changed.`;
}

export function priceLine(symbol: string, price: number, previous?: number): string {
  const p = price.toFixed(2);
  if (previous === undefined || previous <= 0) return `${symbol} ${p}`;
  const diff = price - previous;
  if (Math.abs(diff) < 0.005) return `${symbol} ${p} = 0.00 (0.00%)`;
  const arrow = diff > 0 ? '▲' : '▼';
  const sign = diff > 0 ? '+' : '-';
  const pct = (Math.abs(diff) / previous) * 100;
  return `${symbol} ${p} ${arrow} ${sign}${Math.abs(diff).toFixed(2)} (${sign}${pct.toFixed(2)}%)`;
}

/** How many unknown tickers a reply names: a message full of them would be cut, or refused, and read by nobody. */
const NAMED_UNKNOWN_MAX = 10;

function namedList(symbols: readonly string[]): string {
  if (symbols.length <= NAMED_UNKNOWN_MAX) return symbols.join(', ');
  return `${symbols.slice(0, NAMED_UNKNOWN_MAX).join(', ')} and ${symbols.length - NAMED_UNKNOWN_MAX} more`;
}

export function subscribedText(symbols: readonly string[], quotes: Map<string, PriceQuote>, unknown: readonly string[], offered: readonly string[]): string {
  const lines = [`Subscribed to ${symbols.join(', ')}. Reply STOP to end.`];
  for (const s of symbols) {
    const q = quotes.get(s);
    if (q) lines.push(priceLine(s, q.price));
  }
  if (unknown.length > 0) lines.push(`Not on offer: ${namedList(unknown)}. Try ${offered.join(', ')}.`);
  return lines.join('\n');
}

export function unknownSymbolsText(unknown: readonly string[], offered: readonly string[]): string {
  return `Sorry, ${namedList(unknown)} ${unknown.length === 1 ? 'is' : 'are'} not on offer. Try ${offered.join(', ')}. HELP for commands.`;
}

export function stoppedAllText(): string {
  return 'You are unsubscribed and will get no more messages. Reply START to resume.';
}

export function stoppedSomeText(dropped: readonly string[], remaining: readonly string[]): string {
  const rest = remaining.length > 0 ? ` Still following: ${remaining.join(', ')}.` : ' You follow nothing now.';
  return `Stopped ${dropped.join(', ')}.${rest}`;
}

export function startedText(symbols: readonly string[], offered: readonly string[]): string {
  return symbols.length > 0
    ? `Welcome back: updates resume for ${symbols.join(', ')}. Reply STOP to end.`
    : `Welcome back. Send a ticker to subscribe: ${offered.join(', ')}.`;
}

export function listText(symbols: readonly string[], quotes: Map<string, PriceQuote>, offered: readonly string[], fallback?: Fallback, { quiet, timeZone }: QuietSettings = {}): string {
  const lines =
    symbols.length === 0
      ? [`You follow nothing. Send a ticker to subscribe: ${offered.join(', ')}.`]
      : [`You follow ${symbols.length}:`, ...symbols.map((s) => { const q = quotes.get(s); return q ? priceLine(s, q.price) : s; })];
  if (fallback) lines.push(fallbackLine(fallback));
  if (quiet) lines.push(quietLine(quiet, timeZone));
  return lines.join('\n');
}

/** How quiet hours are shown back to their owner (LIST, HELP): `Quiet 22:00-07:00 (Europe/London).` */
export function quietLine(quiet: QuietHours, timeZone: string | undefined): string {
  return `Quiet ${clockText(quiet.startMin)}-${clockText(quiet.endMin)} (${timeZone ?? 'UTC'}).`;
}

/**
 * Where the zone of new quiet hours came from: the person's own (TZ), their number's country (a
 * guess: said so, with how to name theirs), or none known (UTC: said so).
 */
export type QuietZone = { from: 'theirs'; zone: string } | { from: 'number'; guess: ZoneGuess } | { from: 'none' };

export function quietSetText(quiet: QuietHours, where: QuietZone): string {
  const zone = where.from === 'theirs' ? where.zone : where.from === 'number' ? where.guess.zone : undefined;
  const lines = [`${quietLine(quiet, zone)} No updates then; the first one after carries the latest prices. QUIET OFF ends them.`];
  if (where.from === 'number') {
    const { country, alternative } = where.guess;
    lines.push(alternative ? `Time zone from your number (${country}). Elsewhere? Send your zone, e.g. TZ ${alternative}.` : `Time zone from your number (${country}). Elsewhere? Send TZ and your zone, e.g. TZ Europe/Paris.`);
  } else if (where.from === 'none') {
    lines.push('We do not know your time zone, so these are UTC times. Send yours, e.g. TZ Europe/London.');
  }
  return lines.join('\n');
}

export function quietOffText(had: boolean): string {
  return had ? 'Quiet hours off: updates come at any hour again.' : 'You have no quiet hours. Nothing changed.';
}

export function badQuietText(problem: string): string {
  return `Sorry, not understood: ${problem}. Send QUIET 22-07 (or QUIET 10PM-7AM, QUIET 22:30-07:00), or QUIET OFF. Nothing changed.`;
}

/** `localTime`: what their clock reads now (`23:05`), so that they can see the zone is theirs. */
export function timeZoneSetText(zone: string, localTime: string, quiet: QuietHours | undefined): string {
  const then = quiet ? ` ${quietLine(quiet, zone)}` : ' QUIET 22-07 holds updates overnight.';
  return `Time zone: ${zone} (it is ${localTime} there).${then}`;
}

export function badTimeZoneText(problem: string): string {
  return `Sorry, not understood: ${problem}. Send TZ and a zone, e.g. TZ Europe/London or TZ America/Chicago (or TZ Chicago). Nothing changed.`;
}

export function everyText(intervalMs: number | null): string {
  if (intervalMs === null) return 'You will get every price update again.';
  return `You will get at most one update per ticker every ${formatDuration(intervalMs)}. EVERY OFF for every tick.`;
}

export function badEveryText(): string {
  return 'Try EVERY 30s, EVERY 5m or EVERY 1h (10 seconds to 24 hours), or EVERY OFF.';
}

function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} hour${ms === 3_600_000 ? '' : 's'}`;
  if (ms % 60_000 === 0) return `${ms / 60_000} minute${ms === 60_000 ? '' : 's'}`;
  return `${Math.round(ms / 1000)} seconds`;
}

export function signupDeclinedText(): string {
  return 'OK, you will not be subscribed and we will not write again. Send a ticker any time to start.';
}
