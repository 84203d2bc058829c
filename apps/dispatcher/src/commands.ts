/** What a person asked for, parsed from free text. */
export type Command =
  | { kind: 'help' }
  | { kind: 'subscribe'; symbols: string[]; unknown: string[] }
  | { kind: 'unknown-symbols'; unknown: string[] }
  | { kind: 'stop-all' }
  | { kind: 'stop'; symbols: string[]; unknown: string[] }
  | { kind: 'start' }
  | { kind: 'list' }
  | { kind: 'every'; intervalMs: number | null }
  | { kind: 'bad-every' }
  | { kind: 'confirm' }
  | { kind: 'decline' };

/** Shortest and longest EVERY a person may ask for. */
export const EVERY_MIN_MS = 10_000;
export const EVERY_MAX_MS = 24 * 60 * 60 * 1000;

const UNIT_MS: Record<string, number> = { S: 1000, SEC: 1000, SECS: 1000, SECOND: 1000, SECONDS: 1000, M: 60_000, MIN: 60_000, MINS: 60_000, MINUTE: 60_000, MINUTES: 60_000, H: 3_600_000, HR: 3_600_000, HRS: 3_600_000, HOUR: 3_600_000, HOURS: 3_600_000 };

/** `5m`, `5 min`, `30s`, `1 hour`, `OFF` -> milliseconds, null for off, undefined when unreadable or out of range. */
function parseEvery(words: string[]): number | null | undefined {
  const joined = words.join('');
  if (joined === 'OFF' || joined === '0' || joined === 'ALL' || joined === 'TICK') return null;
  const m = /^(\d+(?:\.\d+)?)([A-Z]*)$/.exec(joined);
  if (!m) return undefined;
  const unit = m[2] === '' ? 'M' : m[2]!;
  const ms = UNIT_MS[unit];
  if (ms === undefined) return undefined;
  const value = Math.round(Number(m[1]) * ms);
  return value >= EVERY_MIN_MS && value <= EVERY_MAX_MS ? value : undefined;
}

/** The opt-out words carriers and regulators expect (CTIA, Ofcom): each ends every subscription. */
export const OPT_OUT_WORDS = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT']);

/** The answers to a web signup's confirmation message (Viber's "accept" is a YES too). */
export const CONFIRM_WORDS = new Set(['YES', 'Y', 'CONFIRM', 'ACCEPT']);
export const DECLINE_WORDS = new Set(['NO', 'N', 'DECLINE']);
const POLITE = new Set(['PLEASE', 'PLS', 'THANKS', 'THANK', 'YOU', 'OK', 'OKAY']);

/** Words that are neither commands nor tickers, so "please send me msft" still means MSFT. */
const FILLER = new Set(['PLEASE', 'PLS', 'SEND', 'ME', 'GIVE', 'SUBSCRIBE', 'TO', 'FOR', 'THE', 'AND', 'PRICE', 'PRICES', 'OF', 'I', 'WANT', 'HI', 'HELLO', 'HEY', 'A', 'AN']);

/**
 * Case-insensitive and tolerant of punctuation and extra words. `offered` is the set of
 * symbols on offer; anything that looks like a ticker but is not offered is reported back.
 */
export function parseCommand(text: string, offered: ReadonlySet<string>): Command {
  const words = text
    .toUpperCase()
    .replace(/[^A-Z0-9.\s]/g, ' ')
    .split(/\s+/)
    .map((w) => w.replace(/^\.+|\.+$/g, ''))
    .filter(Boolean);
  const first = words[0];
  if (first === undefined) return { kind: 'help' };

  if (OPT_OUT_WORDS.has(first)) {
    const rest = words.slice(1).filter((w) => !FILLER.has(w));
    const symbols = rest.filter((w) => offered.has(w));
    // "STOP MSFT" drops one; "STOP" or "STOP ALL" or "STOP it please" ends everything.
    if (first === 'STOP' && symbols.length > 0) return { kind: 'stop', symbols: unique(symbols), unknown: rest.filter((w) => !offered.has(w)) };
    return { kind: 'stop-all' };
  }
  // "YES", "yes please", "No thanks": only when the whole message is the answer, and never a ticker on offer.
  const answerOnly = !offered.has(first) && words.slice(1).every((w) => POLITE.has(w) || CONFIRM_WORDS.has(w) || DECLINE_WORDS.has(w));
  if (answerOnly && CONFIRM_WORDS.has(first)) return { kind: 'confirm' };
  if (answerOnly && DECLINE_WORDS.has(first)) return { kind: 'decline' };
  if (first === 'START' || first === 'UNSTOP' || first === 'RESUME') return { kind: 'start' };
  if (first === 'LIST' || first === 'STATUS') return { kind: 'list' };
  if (first === 'HELP' || first === 'INFO' || first === '?') return { kind: 'help' };
  if (first === 'EVERY') {
    const intervalMs = parseEvery(words.slice(1));
    return intervalMs === undefined ? { kind: 'bad-every' } : { kind: 'every', intervalMs };
  }

  const candidates = words.filter((w) => !FILLER.has(w) && /^[A-Z][A-Z0-9.]{0,9}$/.test(w));
  const symbols = unique(candidates.filter((w) => offered.has(w)));
  const unknown = unique(candidates.filter((w) => !offered.has(w)));
  if (symbols.length > 0) return { kind: 'subscribe', symbols, unknown };
  // One short word that looks like a ticker is probably a ticker we do not offer; longer text is chat.
  if (unknown.length === 1 && words.length === 1 && /^[A-Z]{1,5}$/.test(unknown[0]!)) return { kind: 'unknown-symbols', unknown };
  return { kind: 'help' };
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
