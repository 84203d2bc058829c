import type { PriceQuote } from '@tickercast/shared';

/** The texts the dispatcher sends: command replies and price lines. The web signup's confirmation is in apps/ingress/src/signup/texts.ts. */

export function helpText(offered: readonly string[]): string {
  return [
    'tickercast: live prices by message.',
    `Send a ticker to subscribe (${offered.join(', ')}), e.g. "${offered[0] ?? 'MSFT'}".`,
    `LIST shows yours, STOP ${offered[0] ?? 'MSFT'} drops one, STOP ends all, START resumes, EVERY 5m slows updates, HELP shows this.`,
  ].join('\n');
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

export function listText(symbols: readonly string[], quotes: Map<string, PriceQuote>, offered: readonly string[]): string {
  if (symbols.length === 0) return `You follow nothing. Send a ticker to subscribe: ${offered.join(', ')}.`;
  return [`You follow ${symbols.length}:`, ...symbols.map((s) => { const q = quotes.get(s); return q ? priceLine(s, q.price) : s; })].join('\n');
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
