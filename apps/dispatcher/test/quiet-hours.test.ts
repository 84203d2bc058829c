import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inWindow, quietUntil, wallClock, type QuietWindow } from '../src/quiet-hours.ts';
import { zoneForAddress, zoneForNumber } from '../src/time-zones.ts';

/*
 * Issue 16, quiet hours: when the quiet hours holding an instant end, on the person's own clock.
 * Fixed clocks only: every instant below is written out, and so is what it must give.
 */

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const window = (start: string, end: string, timeZone: string): QuietWindow => {
  const min = (hm: string) => Number(hm.slice(0, 2)) * 60 + Number(hm.slice(3));
  return { startMin: min(start), endMin: min(end), timeZone };
};

describe('quietUntil', () => {
  const london = window('22:00', '07:00', 'Europe/London');

  it('across midnight: 23:00 in a London winter is held until 07:00 the next morning', () => {
    expect(iso(quietUntil(london, at('2026-01-15T23:00:00Z')))).toBe('2026-01-16T07:00:00.000Z');
    expect(iso(quietUntil(london, at('2026-01-16T03:00:00Z')))).toBe('2026-01-16T07:00:00.000Z');
  });

  it('in a London summer the same hours are an hour earlier in UTC', () => {
    expect(iso(quietUntil(london, at('2026-07-15T21:00:00Z')))).toBe('2026-07-16T06:00:00.000Z');
    // 21:30 UTC is 22:30 BST: quiet. 20:59 UTC is 21:59 BST: not yet.
    expect(iso(quietUntil(london, at('2026-07-15T21:30:00Z')))).toBe('2026-07-16T06:00:00.000Z');
    expect(quietUntil(london, at('2026-07-15T20:59:00Z'))).toBeUndefined();
  });

  it('the start is quiet, the end is not', () => {
    expect(iso(quietUntil(london, at('2026-01-15T22:00:00Z')))).toBe('2026-01-16T07:00:00.000Z');
    expect(quietUntil(london, at('2026-01-16T07:00:00Z'))).toBeUndefined();
    expect(iso(quietUntil(london, at('2026-01-16T06:59:59Z')))).toBe('2026-01-16T07:00:00.000Z');
    expect(quietUntil(london, at('2026-01-15T21:59:59Z'))).toBeUndefined();
  });

  it('outside the hours nothing is held', () => {
    expect(quietUntil(london, at('2026-01-15T12:00:00Z'))).toBeUndefined();
    expect(quietUntil(undefined, at('2026-01-15T23:00:00Z'))).toBeUndefined();
  });

  it('the night the clocks go forward is an hour shorter (London, 29 March 2026: 22:00 GMT to 07:00 BST is 8 hours)', () => {
    expect(iso(quietUntil(london, at('2026-03-28T22:00:00Z')))).toBe('2026-03-29T06:00:00.000Z');
  });

  it('the night the clocks go back is an hour longer (London, 25 October 2026: 22:00 BST to 07:00 GMT is 10 hours)', () => {
    expect(iso(quietUntil(london, at('2026-10-24T21:00:00Z')))).toBe('2026-10-25T07:00:00.000Z');
  });

  it('a window in the day (09:00-17:00, New York) ends the same day', () => {
    const office = window('09:00', '17:00', 'America/New_York');
    expect(iso(quietUntil(office, at('2026-01-15T15:00:00Z')))).toBe('2026-01-15T22:00:00.000Z');
    expect(quietUntil(office, at('2026-01-15T23:00:00Z'))).toBeUndefined();
  });

  it('an end the clocks jump over ends at the jump (New York, 8 March 2026: 02:00 EST is 03:00 EDT)', () => {
    const night = window('23:00', '02:30', 'America/New_York');
    // 23:30 EST on the 7th; 02:30 never happens on the 8th: the quiet hours end at 07:00 UTC, when the clocks read 03:00.
    expect(iso(quietUntil(night, at('2026-03-08T04:30:00Z')))).toBe('2026-03-08T07:00:00.000Z');
  });

  it('an end the clocks pass twice ends at the first, and the repeated hour is quiet again (New York, 1 November 2026)', () => {
    const night = window('22:00', '01:30', 'America/New_York');
    // 23:00 EDT on 31 October: until 01:30 EDT (05:30 UTC).
    expect(iso(quietUntil(night, at('2026-11-01T03:00:00Z')))).toBe('2026-11-01T05:30:00.000Z');
    // 01:15 EST, the second time the clocks read 01:15: until 01:30 EST (06:30 UTC).
    expect(iso(quietUntil(night, at('2026-11-01T06:15:00Z')))).toBe('2026-11-01T06:30:00.000Z');
  });

  it('zones off the hour: Kolkata (+05:30) and Chatham (+13:45 in its summer)', () => {
    expect(iso(quietUntil(window('22:00', '07:00', 'Asia/Kolkata'), at('2026-01-15T17:00:00Z')))).toBe('2026-01-16T01:30:00.000Z');
    expect(iso(quietUntil(window('22:00', '07:00', 'Pacific/Chatham'), at('2026-01-15T10:00:00Z')))).toBe('2026-01-15T17:15:00.000Z');
  });

  it('a jump forward that skips all of the time outside the window holds on until the next end', () => {
    // Quiet 00:01-00:00; Chile's clocks go from 00:00 to 01:00 on 2025-09-07, so that day never reads 00:00.
    expect(iso(quietUntil(window('00:01', '00:00', 'America/Santiago'), at('2025-09-06T04:01:00Z')))).toBe('2025-09-08T03:00:00.000Z');
  });

  it('whatever the zone, window and instant: held exactly while the clock is in the window, until the first instant it is not', () => {
    const zones = ['Europe/London', 'America/New_York', 'America/Sao_Paulo', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Pacific/Chatham', 'America/Santiago', 'Africa/Casablanca', 'UTC'];
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: 0, max: 24 * 60 - 1 }),
        fc.integer({ min: 0, max: 24 * 60 - 1 }),
        fc.integer({ min: at('2025-01-01T00:00:00Z'), max: at('2028-12-31T00:00:00Z') }),
        (timeZone, startMin, endMin, now) => {
          fc.pre(startMin !== endMin);
          const w = { startMin, endMin, timeZone };
          const until = quietUntil(w, now);
          const quietAt = (t: number) => inWindow(w, wallClock(t, timeZone).minute);
          expect(until !== undefined).toBe(quietAt(now));
          if (until === undefined) return;
          expect(until).toBeGreaterThan(now);
          // A day and a clock change; longer only when a jump forward skipped all of a day's time
          // outside the window: then every minute until the end was quiet, and it is two days at most.
          if (until - now > 26 * 3_600_000) {
            expect(until - now).toBeLessThanOrEqual(50 * 3_600_000);
            for (let t = now; t < until; t += 60_000) expect(quietAt(t)).toBe(true);
          }
          expect(quietAt(until)).toBe(false);
          // The first such instant: the minute before it was still quiet (or is before now).
          if (until - 60_000 >= now) expect(quietAt(until - 60_000)).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('the zone a number suggests', () => {
  const now = at('2026-01-15T12:00:00Z');

  it('a UK number: Europe/London, the only zone, so no other is offered', async () => {
    expect(await zoneForNumber('447700900123', now)).toEqual({ zone: 'Europe/London', country: 'United Kingdom' });
  });

  it('a US number: the zone most Americans live in, and another of theirs as the example of how to name yours', async () => {
    expect(await zoneForNumber('12125550123', now)).toEqual({ zone: 'America/New_York', country: 'United States of America', alternative: 'America/Chicago' });
  });

  it('within +1 the area code tells the country: a Toronto number is Canadian', async () => {
    expect(await zoneForNumber('14165550123', now)).toMatchObject({ zone: 'America/Toronto', country: 'Canada' });
  });

  it('Messenger gives no number: no zone', async () => {
    expect(await zoneForAddress('messenger', '1234567890123456', now)).toBeUndefined();
    expect(await zoneForAddress('whatsapp', '447700900123', now)).toMatchObject({ zone: 'Europe/London' });
  });
});
