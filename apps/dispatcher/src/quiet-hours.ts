/**
 * Quiet hours (QUIET 22-07): the hours of the day, on the person's own clock, when no feed update
 * goes to them. Wall-clock arithmetic in an IANA zone with Intl only: a window may run across
 * midnight, and the real length of a night changes with daylight saving time.
 */

/** A daily window of wall-clock minutes [startMin, endMin) in `timeZone`; it runs across midnight when start > end. */
export interface QuietWindow {
  startMin: number;
  endMin: number;
  timeZone: string;
}

export const MINUTES_PER_DAY = 24 * 60;
const DAY_MS = 86_400_000;

/** A wall clock reading: the local date, and the minute of its day. */
interface WallClock {
  year: number;
  month: number;
  day: number;
  minute: number;
}

/*
 * Building a DateTimeFormat costs far more than using one, and a feed send for someone with quiet
 * hours asks for one each time: one per zone, kept. There are about 600 zone names.
 */
const formats = new Map<string, Intl.DateTimeFormat>();

function formatFor(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' });
    formats.set(timeZone, f);
  }
  return f;
}

/** What the clocks in `timeZone` read at instant `at` (to the minute). */
export function wallClock(at: number, timeZone: string): WallClock {
  const parts: Record<string, number> = {};
  for (const p of formatFor(timeZone).formatToParts(at)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts.year!, month: parts.month!, day: parts.day!, minute: parts.hour! * 60 + parts.minute! };
}

/** The wall clock as if it were UTC, in ms: comparable across readings, and its difference from the instant is the zone's offset. */
function wallMs(w: WallClock): number {
  return Date.UTC(w.year, w.month - 1, w.day) + w.minute * 60_000;
}

/** Whether wall-clock minute `minute` of the day falls in the window. */
export function inWindow(window: Pick<QuietWindow, 'startMin' | 'endMin'>, minute: number): boolean {
  const { startMin: s, endMin: e } = window;
  return s < e ? minute >= s && minute < e : minute >= s || minute < e;
}

/** The zone's offset from UTC at `at`, in ms (whole minutes: seconds are below what Intl shows here). */
export function offsetAt(at: number, timeZone: string): number {
  const floored = Math.floor(at / 60_000) * 60_000;
  return wallMs(wallClock(floored, timeZone)) - floored;
}

/**
 * The first instant after `after` when the clocks in `timeZone` read `minute` on the local date
 * `date` (a day's start, as wallMs), or, when that reading never happens (it falls in a gap where
 * the clocks jump forward), the instant of the jump: the first one at which they read later.
 */
function firstInstantReading(date: number, minute: number, timeZone: string, after: number): number | undefined {
  const wall = date + minute * 60_000;
  // The offsets in force around that reading: at most one change a day, so a day either side covers it.
  const offsets = new Set([offsetAt(wall - DAY_MS, timeZone), offsetAt(wall, timeZone), offsetAt(wall + DAY_MS, timeZone)]);
  const candidates = [...offsets].map((o) => wall - o).sort((a, b) => a - b);
  const exact = candidates.filter((t) => wallMs(wallClock(t, timeZone)) === wall && t > after);
  if (exact.length > 0) return exact[0];
  // A gap: between the earliest and latest candidate the clocks jump over `wall`; find the jump (to the minute).
  let lo = candidates[0]!;
  let hi = candidates[candidates.length - 1]!;
  if (wallMs(wallClock(hi, timeZone)) < wall) return undefined;
  while (hi - lo > 60_000) {
    const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
    if (wallMs(wallClock(mid, timeZone)) >= wall) hi = mid;
    else lo = mid;
  }
  return hi > after ? hi : undefined;
}

/**
 * When the quiet hours holding `now` end, or undefined when `now` is not in them: the first
 * instant after `now` at which the person's clock reads the window's end (or, if the clocks jump
 * over it, the jump, unless the jump lands in the quiet hours again: then the next end). Across
 * midnight (22-07) the end is on the next local date.
 */
export function quietUntil(window: QuietWindow | undefined, now: number): number | undefined {
  if (!window || window.startMin === window.endMin) return undefined;
  const wall = wallClock(now, window.timeZone);
  if (!inWindow(window, wall.minute)) return undefined;
  const today = Date.UTC(wall.year, wall.month - 1, wall.day);
  // Still before the end today (a day window, or the small hours of a night one), or else tomorrow's.
  const first = wall.minute < window.endMin ? firstInstantReading(today, window.endMin, window.timeZone, now) : undefined;
  const end = first ?? firstInstantReading(today + DAY_MS, window.endMin, window.timeZone, now) ?? now + DAY_MS;
  // A jump forward longer than the time outside the window (quiet 00:01-00:00, clocks 00:00 -> 01:00) skips all of it that day.
  return inWindow(window, wallClock(end, window.timeZone).minute) ? quietUntil(window, end) : end;
}

/** `22:00` for minute 1320 of the day. */
export function clockText(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

/** What a clock in `timeZone` reads at `at`: `23:05`. */
export function localClockText(timeZone: string, at: number): string {
  return clockText(wallClock(at, timeZone).minute);
}
