import { normalizeNumber } from '@tickercast/messages-client';
import { INBOUND_TEXT_MAX, type AlertKind } from '@tickercast/shared';
import { resolveZone } from './time-zones.ts';

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
  /** FALLBACK SMS, with the number to use when one was named (normalized). */
  | { kind: 'fallback'; number: string | undefined }
  | { kind: 'fallback-off' }
  /** A FALLBACK that did not parse: what was not understood. Nothing changes. */
  | { kind: 'bad-fallback'; problem: string }
  /** QUIET 22-07: no feed updates between these wall-clock minutes of the day (start > end runs across midnight). */
  | { kind: 'quiet'; startMin: number; endMin: number }
  | { kind: 'quiet-off' }
  /** A QUIET that did not parse: what was not understood. Nothing changes. */
  | { kind: 'bad-quiet'; problem: string }
  /** TZ Europe/London: the zone their quiet hours are kept in, as Intl spells it. */
  | { kind: 'time-zone'; zone: string }
  /** TZ OFF: back to the zone their number suggests (UTC without one). */
  | { kind: 'time-zone-off' }
  | { kind: 'bad-time-zone'; problem: string }
  | { kind: 'confirm' }
  | { kind: 'decline' }
  /** ALERT MSFT 2% (move), ALERT MSFT > 420 (above), ALERT MSFT < 400 (below); NOW marks it urgent. */
  | { kind: 'alert'; symbol: string; rule: AlertKind; level: number; urgent: boolean }
  /** ALERT OFF MSFT; no symbol named: every alert. */
  | { kind: 'alert-off'; symbols: string[] }
  /** An ALERT that did not parse: what was not understood, and the form meant when it is plain. Nothing changes. */
  | { kind: 'bad-alert'; problem: string; suggestion?: string };

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
 * How much of a message a command is read from: far more than any command (STOP with every
 * ticker on offer), little enough that no text costs the dispatcher more than a moment.
 */
export const COMMAND_TEXT_MAX = 640;

/*
 * What may sit inside a word without being seen: format characters (zero-width space and
 * joiners, word joiner, BOM, soft hyphen, bidi controls), combining marks (so an accent or a
 * stray U+0301 cannot split a word) and control characters other than whitespace.
 */
const INVISIBLE = /[\p{Cf}\p{M}[\p{Cc}--\s]]/gv;

/**
 * The text as a person meant it: compatibility forms folded as NFKC folds them (fullwidth ＳＴＯＰ,
 * ligatures, ideographic space), accents taken off their letters, invisible characters dropped.
 * NFKD rather than NFKC so that the marks come apart from their letters and can be dropped.
 */
export function normalizeText(text: string): string {
  return text.slice(0, INBOUND_TEXT_MAX).normalize('NFKD').replace(INVISIBLE, '');
}

/**
 * The uppercase words a command is read from: every step is linear, and at most COMMAND_TEXT_MAX
 * characters are read. For ALERT (`alert`), `%`, `>` and `<` are words of their own (`≥`, `≤` read
 * as `>`, `<`; `1,000` as `1000`), and `.5` is 0.5.
 */
function commandWords(text: string, alert = false): string[] {
  const upper = normalizeText(text).toUpperCase();
  let s = alert
    ? upper
        .replace(/\u2265/g, '>')
        .replace(/\u2264/g, '<')
        .replace(/(\d),(?=\d{3}(?!\d))/g, '$1')
        .replace(/[^A-Z0-9.%<>]+/g, ' ')
        .replace(/[%<>]/g, ' $& ')
        .trimStart()
    : upper.replace(/[^A-Z0-9.]+/g, ' ').trimStart();
  if (s.length > COMMAND_TEXT_MAX) {
    // A word cut in two at the limit is not read at all: half a ticker would be another ticker.
    const cut = s[COMMAND_TEXT_MAX] === ' ' ? COMMAND_TEXT_MAX : s.lastIndexOf(' ', COMMAND_TEXT_MAX);
    s = s.slice(0, Math.max(cut, 0));
  }
  return s
    .split(' ')
    .map((w) => (alert && /^\.\d/.test(w) ? `0.${trimDots(w)}` : trimDots(w)))
    .filter(Boolean);
}

/** Dots off both ends, by index: the regex /^\.+|\.+$/ it replaces backtracked quadratically on a long word of dots. */
function trimDots(w: string): string {
  let start = 0;
  let end = w.length;
  while (start < end && w.charCodeAt(start) === 0x2e) start++;
  while (end > start && w.charCodeAt(end - 1) === 0x2e) end--;
  return start === 0 && end === w.length ? w : w.slice(start, end);
}

/**
 * Case-insensitive and tolerant of punctuation, extra words, fullwidth forms and invisible
 * characters. `offered` is the set of symbols on offer; anything that looks like a ticker but is
 * not offered is reported back.
 */
export function parseCommand(text: string, offered: ReadonlySet<string>): Command {
  const words = commandWords(text);
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
  if (first === 'FALLBACK') return parseFallback(words.slice(1));
  if (first === 'QUIET') return parseQuiet(restAfterFirstWord(text));
  if (first === 'TZ' || first === 'TIMEZONE') {
    if (words.length === 2 && words[1] === 'OFF') return { kind: 'time-zone-off' };
    const answer = resolveZone(restAfterFirstWord(text));
    return 'zone' in answer ? { kind: 'time-zone', zone: answer.zone } : { kind: 'bad-time-zone', problem: answer.problem };
  }
  if (first === 'ALERT' || first === 'ALERTS') return parseAlert(commandWords(text, true).slice(1), offered);
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

/**
 * The text after the first word, as typed but for the folding every command gets (normalizeText,
 * upper case): QUIET's times and TZ's zone names need the ':', '-' and '/' that commandWords drops.
 * The first word is the first run of the characters commandWords keeps, as it finds it.
 */
function restAfterFirstWord(text: string): string {
  const s = normalizeText(text).slice(0, COMMAND_TEXT_MAX + 64).toUpperCase();
  const first = /[A-Z0-9.]+/.exec(s);
  return first ? s.slice(first.index + first[0].length, first.index + first[0].length + COMMAND_TEXT_MAX) : '';
}

/** What divides QUIET's two times: a dash of any kind, or a word. */
const QUIET_SEPARATOR = /\s*[-‐‑‒–—―−~]\s*|\s+(?:TO|UNTIL|TILL|TIL)\s+/;

/** One time of day: `22`, `7`, `22:30`, `22.30`, `22h30`, `2230`, `10PM`, `10:30 pm`, `7a.m.`, `noon`, `midnight`. */
const TIME_OF_DAY = /^(?:(\d{1,2})(?:[:.H](\d{2}))?|(\d{2})(\d{2}))H? ?(AM|PM|A|P|A\.M\.?|P\.M\.?)?$/;

/** A time of day as minutes since midnight, or what is wrong with it. */
function parseTimeOfDay(text: string): number | { problem: string } {
  if (text === 'MIDNIGHT') return 0;
  if (text === 'NOON' || text === 'MIDDAY') return 12 * 60;
  const shown = text.length > 20 ? `${text.slice(0, 20)}…` : text;
  const m = TIME_OF_DAY.exec(text);
  if (!m) return { problem: `"${shown}" is not a time of day` };
  let hour = Number(m[1] ?? m[3]);
  const minute = Number(m[2] ?? m[4] ?? 0);
  const half = m[5]?.[0];
  if (minute > 59) return { problem: `"${shown}" is not a time of day` };
  if (half) {
    if (hour < 1 || hour > 12) return { problem: `"${shown}": with AM or PM the hour is 1 to 12` };
    hour = (hour % 12) + (half === 'P' ? 12 : 0);
  } else if (hour === 24 && minute === 0) {
    hour = 0;
  } else if (hour > 23) {
    return { problem: `"${shown}" is not an hour of the day` };
  }
  return hour * 60 + minute;
}

/** `22-07`, `22:30-07:00`, `10PM-7AM`, `from 10pm to 7am`, `22 7`, `OFF` (the text after QUIET). */
function parseQuiet(rest: string): Command {
  const text = rest.replace(/\s+/g, ' ').trim().replace(/[!?,;.]+$/, '');
  if (text === '') return { kind: 'bad-quiet', problem: 'QUIET needs the hours' };
  if (text === 'OFF' || text === 'NONE') return { kind: 'quiet-off' };
  const range = text.replace(/^FROM\s+/, '');
  const sep = QUIET_SEPARATOR.exec(range);
  // Two times with only a space between them (QUIET 22 7) are a range too.
  const spaced = sep ? undefined : /^(\S+(?: ?[AP]\.?M?\.?)?) (\S+(?: ?[AP]\.?M?\.?)?)$/.exec(range);
  const [from, to] = sep ? [range.slice(0, sep.index), range.slice(sep.index + sep[0].length)] : spaced ? [spaced[1]!, spaced[2]!] : [range, ''];
  if (to === '') return { kind: 'bad-quiet', problem: `"${from.length > 20 ? `${from.slice(0, 20)}…` : from}" needs a start and an end` };
  const startMin = parseTimeOfDay(from);
  if (typeof startMin !== 'number') return { kind: 'bad-quiet', problem: startMin.problem };
  const endMin = parseTimeOfDay(to);
  if (typeof endMin !== 'number') return { kind: 'bad-quiet', problem: endMin.problem };
  if (startMin === endMin) return { kind: 'bad-quiet', problem: 'the quiet hours start and end at the same time' };
  return { kind: 'quiet', startMin, endMin };
}

/** The fallback channels on offer: SMS only (the Messages API's failover to it from every other channel). */
const FALLBACK_CHANNELS = new Set(['SMS', 'TEXT']);

/** `SMS`, `SMS +44 7700 900123`, `OFF` (the words after FALLBACK); anything else names what was not understood. */
function parseFallback(words: string[]): Command {
  const [what, ...rest] = words;
  if (what === undefined) return { kind: 'bad-fallback', problem: 'FALLBACK needs a channel' };
  if (what === 'OFF') return rest.length === 0 ? { kind: 'fallback-off' } : { kind: 'bad-fallback', problem: `"${rest.join(' ')}" after FALLBACK OFF` };
  if (!FALLBACK_CHANNELS.has(what)) return { kind: 'bad-fallback', problem: `"${what}" is not a fallback we offer (only SMS)` };
  if (rest.length === 0) return { kind: 'fallback', number: undefined };
  // The number may come in groups ("+44 7700 900123"): every word after SMS must be digits.
  const notDigits = rest.filter((w) => !/^\d+$/.test(w));
  if (notDigits.length > 0) return { kind: 'bad-fallback', problem: `"${notDigits.join(' ')}" is not a phone number` };
  const number = normalizeNumber(rest.join(''));
  return number ? { kind: 'fallback', number } : { kind: 'bad-fallback', problem: `"${rest.join(' ')}" is not a phone number with its country code` };
}

/** The smallest and largest move an ALERT may ask for, in percent. */
export const ALERT_MOVE_MIN = 0.1;
export const ALERT_MOVE_MAX = 50;
/** A price to cross must be below this (and above 0). */
const ALERT_PRICE_MAX = 1e9;

const ABOVE = new Set(['>', 'ABOVE', 'OVER']);
const BELOW = new Set(['<', 'BELOW', 'UNDER']);
const PERCENT = new Set(['%', 'PC', 'PCT', 'PERCENT']);
const URGENT = new Set(['NOW', 'URGENT']);
/** Words around an alert that change nothing: "alert me when msft goes above 420". */
const ALERT_FILLER = new Set(['ME', 'WHEN', 'IF', 'ON', 'FOR', 'IS', 'GOES', 'GO', 'MOVES', 'MOVE', 'BY', 'CROSSES', 'PRICE', 'OF', 'AT', 'TO', 'THE', 'A', 'PLEASE', 'PLS']);
const NUMBER = /^\d+(?:\.\d+)?$/;

/**
 * The words after ALERT: `MSFT 2%`, `MSFT > 420`, `MSFT < 400`, `MSFT ABOVE 420`, each with NOW
 * anywhere for urgent (an ALERT OFF ignores it); `OFF [MSFT …]`, `MSFT OFF`. Anything else names what was not understood.
 */
function parseAlert(all: string[], offered: ReadonlySet<string>): Command {
  const urgent = all.some((w) => URGENT.has(w));
  const words = all.filter((w) => !ALERT_FILLER.has(w) && !URGENT.has(w));
  if (words[0] === 'OFF') {
    const rest = words.slice(1);
    const unknown = rest.filter((w) => !offered.has(w));
    if (unknown.length > 0) return { kind: 'bad-alert', problem: `"${unknown.join(' ')}" after ALERT OFF is not a ticker on offer` };
    return { kind: 'alert-off', symbols: unique(rest) };
  }
  const [symbol, ...rest] = words;
  // The reply (texts.badAlertText) adds the right forms.
  if (symbol === undefined) return { kind: 'bad-alert', problem: 'ALERT needs a ticker and a move or a price' };
  if (!offered.has(symbol)) return { kind: 'bad-alert', problem: /^[A-Z][A-Z0-9.]{0,9}$/.test(symbol) ? `${symbol} is not a ticker on offer` : `"${symbol}" is not a ticker` };
  const now = urgent ? ' NOW' : '';
  if (rest.length === 1 && rest[0] === 'OFF' && !urgent) return { kind: 'alert-off', symbols: [symbol] };
  if (rest.length === 0) return { kind: 'bad-alert', problem: `ALERT ${symbol} needs a move (ALERT ${symbol} 2%) or a price (ALERT ${symbol} > 420)` };
  const [a, b, ...more] = rest;
  const said = `ALERT ${all.join(' ')}`;
  if (more.length === 0 && (ABOVE.has(a!) || BELOW.has(a!))) {
    const rule: AlertKind = ABOVE.has(a!) ? 'above' : 'below';
    const sign = rule === 'above' ? '>' : '<';
    if (b === undefined || !NUMBER.test(b)) return { kind: 'bad-alert', problem: `ALERT ${symbol} ${sign} needs a price, e.g. ALERT ${symbol} ${sign} 420` };
    const level = Number(b);
    if (!(level > 0 && level < ALERT_PRICE_MAX)) return { kind: 'bad-alert', problem: `${b} is not a price to alert on` };
    return { kind: 'alert', symbol, rule, level, urgent };
  }
  if (more.length === 0 && NUMBER.test(a!) && (b === undefined || PERCENT.has(b))) {
    const level = Number(a);
    if (b === undefined) {
      // A bare number: a move when it could be one, else a price to cross, either way.
      const suggestion = level >= ALERT_MOVE_MIN && level <= ALERT_MOVE_MAX ? `ALERT ${symbol} ${a}%${now}` : `ALERT ${symbol} > ${a}${now} or ALERT ${symbol} < ${a}${now}`;
      return { kind: 'bad-alert', problem: said, suggestion };
    }
    if (level < ALERT_MOVE_MIN || level > ALERT_MOVE_MAX) return { kind: 'bad-alert', problem: `a move of ${a}% (from ${ALERT_MOVE_MIN}% to ${ALERT_MOVE_MAX}%)` };
    return { kind: 'alert', symbol, rule: 'move', level, urgent };
  }
  return { kind: 'bad-alert', problem: `"${rest.join(' ')}" after ALERT ${symbol}` };
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
