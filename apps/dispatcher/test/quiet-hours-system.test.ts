import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { duePartition, subscriberId, type Channel } from '@tickercast/shared';
import { wallClock } from '../src/quiet-hours.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { tick as tickSymbol } from '../../../test/support/dispatcher.ts';
import { startSystem, until, type TestSystem } from '../../../test/support/system.ts';

/*
 * Issue 16, quiet hours, through the whole system: the phone's QUIET and TZ reach the dispatcher
 * through the ingress, are kept in the subscriber's record, and the feed send holds the updates
 * until the quiet hours end on the person's clock. The dispatcher's clock is the test's: it starts
 * at 23:00 in London and moves to the next morning when the test says so.
 */

const PHONE = '447700900123';
const US_PHONE = '12125550123';
const PSID = '3333444455556666';
const DAY_MS = 86_400_000;

let t: TestRedis;
let s: TestSystem;
let offset = 0;
/** The dispatcher's clock: the real one, moved by `offset`, so that it runs on from wherever the test set it. */
const clock = () => Date.now() + offset;
const setClock = (ms: number) => {
  offset = ms - Date.now();
};

/** The instant London's clocks read `hour`:00 on the day `daysAhead` days from today (London is UTC or UTC+1). */
function londonAt(daysAhead: number, hour: number): number {
  const d = new Date(Date.now() + daysAhead * DAY_MS);
  const utc = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), hour);
  const found = [utc, utc - 3_600_000].find((c) => wallClock(c, 'Europe/London').minute === hour * 60);
  if (found === undefined) throw new Error('London reads neither');
  return found;
}

// A night a few days ahead: the dispatcher's clock is later than any real time the test writes (a reply's receipt, a hold's end).
const NIGHT_START = () => londonAt(3, 23);
const MORNING = () => londonAt(4, 7);

beforeEach(async () => {
  setClock(NIGHT_START());
  t = testRedis();
  s = await startSystem(t, { now: clock });
  await s.d.prices.set('MSFT', 412.35);
});
afterEach(async () => {
  await s.close();
  await t.cleanup();
});

const shown = (channel: Channel, number: string) => s.shown(channel, number);
const says = (channel: Channel, number: string, text: string) => s.says(channel, number, text);
const record = (id: string) => t.redis.hgetall(s.d.keys.subscriber(id));
/** When the subscriber's hold in the due index ends, if they are held. */
const heldUntil = async (channel: Channel, id: string) => {
  const score = await t.redis.zscore(s.d.keys.dueHeld(channel, duePartition(id)), id);
  return score === null ? undefined : Number(score);
};

const tick = (price: number) => tickSymbol(s.d, 'MSFT', price);

describe('QUIET 22-07 on SMS, London', () => {
  it('an update in quiet hours is held, replies are not, and the first update after carries the latest price', async () => {
    const id = subscriberId('sms', PHONE);
    expect(await says('sms', PHONE, 'MSFT')).toMatch(/^Subscribed to MSFT/);
    expect(await says('sms', PHONE, 'QUIET 22-07')).toBe(
      'Quiet 22:00-07:00 (Europe/London). No updates then; the first one after carries the latest prices. QUIET OFF ends them.\n' +
        'Time zone from your number (United Kingdom). Elsewhere? Send TZ and your zone, e.g. TZ Europe/Paris.',
    );
    expect(await record(id)).toMatchObject({ quietStart: '1320', quietEnd: '420', timeZone: 'Europe/London' });

    // 23:00 in London: the tick's update is not sent; the send holds them until 07:00 there.
    await tick(413.55);
    await until('held until 07:00 in London', async () => (await heldUntil('sms', id)) === MORNING());
    await tick(414.2);
    await tick(415.1);
    await s.d.refiller.wake();
    expect(await heldUntil('sms', id)).toBe(MORNING());
    expect(await s.d.queues.send.sms.getPrioritizedCount()).toBe(0);

    // A reply is never held: LIST answers at once, and shows the quiet hours.
    expect(await says('sms', PHONE, 'LIST')).toBe('You follow 1:\nMSFT 415.10\nQuiet 22:00-07:00 (Europe/London).');
    expect((await shown('sms', PHONE)).filter((m) => m.startsWith('MSFT 41'))).toEqual([]);

    // 07:00 in London: the hold ends, and the one update carries the latest price, its change measured from the confirmation's.
    setClock(MORNING() + 1000);
    await s.d.refiller.wake();
    await until('the update after the quiet hours', async () => (await shown('sms', PHONE)).length === 4);
    expect((await shown('sms', PHONE))[3]).toBe('MSFT 415.10 ▲ +2.75 (+0.67%)');
    expect(s.sim.store.messages({ channel: 'sms', to: PHONE })).toHaveLength(4);
    expect(await heldUntil('sms', id)).toBeUndefined();
  });

  it('QUIET OFF in quiet hours ends the hold: the held update goes at once, with the latest price', async () => {
    const id = subscriberId('sms', PHONE);
    await says('sms', PHONE, 'MSFT');
    await says('sms', PHONE, 'QUIET 10PM-7AM');
    await tick(413.55);
    await until('held', async () => (await heldUntil('sms', id)) === MORNING());

    expect(await says('sms', PHONE, 'QUIET OFF')).toBe('Quiet hours off: updates come at any hour again.');
    await until('the held update', async () => (await shown('sms', PHONE)).length === 4);
    expect((await shown('sms', PHONE))[3]).toBe('MSFT 413.55 ▲ +1.20 (+0.29%)');
    const after = await record(id);
    expect(after.quietStart).toBeUndefined();
    expect(after.quietEnd).toBeUndefined();
    // The zone stays theirs: the next QUIET uses it.
    expect(after.timeZone).toBe('Europe/London');
    expect(await says('sms', PHONE, 'QUIET 23:30-06:00')).toBe('Quiet 23:30-06:00 (Europe/London). No updates then; the first one after carries the latest prices. QUIET OFF ends them.');
  });

  it('a QUIET or TZ that does not parse says what was not understood and changes nothing', async () => {
    const id = subscriberId('sms', PHONE);
    await says('sms', PHONE, 'QUIET 22-07');
    const before = await record(id);
    expect(await says('sms', PHONE, 'QUIET 25-07')).toBe('Sorry, not understood: "25" is not an hour of the day. Send QUIET 22-07 (or QUIET 10PM-7AM, QUIET 22:30-07:00), or QUIET OFF. Nothing changed.');
    expect(await says('sms', PHONE, 'quiet tonight')).toMatch(/^Sorry, not understood: "TONIGHT" needs a start and an end\./);
    expect(await says('sms', PHONE, 'TZ Mars/Olympus')).toBe(
      'Sorry, not understood: "MARS/OLYMPUS" is not a time zone we know. Send TZ and a zone, e.g. TZ Europe/London or TZ America/Chicago (or TZ Chicago). Nothing changed.',
    );
    const after = await record(id);
    for (const field of ['quietStart', 'quietEnd', 'timeZone'] as const) expect(after[field]).toBe(before[field]);
  });

  it('STOP ends the quiet hours with everything else', async () => {
    const id = subscriberId('sms', PHONE);
    await says('sms', PHONE, 'MSFT');
    await says('sms', PHONE, 'QUIET 22-07');
    await says('sms', PHONE, 'STOP');
    const after = await record(id);
    expect(after.status).toBe('stopped');
    for (const field of ['quietStart', 'quietEnd', 'timeZone'] as const) expect(after[field]).toBeUndefined();
    await says('sms', PHONE, 'START');
    expect(await says('sms', PHONE, 'LIST')).toBe('You follow 1:\nMSFT 412.35');
  });
});

describe('the zone of the quiet hours', () => {
  // The real clock: Messenger answers only within 24 hours of the person's message, by the sends' clock too.
  beforeEach(() => {
    offset = 0;
  });

  it('a US number: New York, where most Americans are, and how to name another', async () => {
    expect(await says('sms', US_PHONE, 'QUIET 10PM-7AM')).toBe(
      'Quiet 22:00-07:00 (America/New_York). No updates then; the first one after carries the latest prices. QUIET OFF ends them.\n' +
        'Time zone from your number (United States of America). Elsewhere? Send your zone, e.g. TZ America/Chicago.',
    );
    expect(await says('sms', US_PHONE, 'TZ Chicago')).toMatch(/^Time zone: America\/Chicago \(it is \d\d:\d\d there\)\. Quiet 22:00-07:00 \(America\/Chicago\)\.$/);
    expect(await record(subscriberId('sms', US_PHONE))).toMatchObject({ timeZone: 'America/Chicago', quietStart: '1320', quietEnd: '420' });
  });

  it('Messenger gives no number: the hours are UTC until the person names their zone, and LIST and HELP show it', async () => {
    const id = subscriberId('messenger', PSID);
    await says('messenger', PSID, 'MSFT');
    expect(await says('messenger', PSID, 'QUIET 22-07')).toBe(
      'Quiet 22:00-07:00 (UTC). No updates then; the first one after carries the latest prices. QUIET OFF ends them.\n' +
        'We do not know your time zone, so these are UTC times. Send yours, e.g. TZ Europe/London.',
    );
    expect((await record(id)).timeZone).toBeUndefined();
    expect(await says('messenger', PSID, 'LIST')).toBe('You follow 1:\nMSFT 412.35\nQuiet 22:00-07:00 (UTC).');
    expect(await says('messenger', PSID, 'tz europe/berlin')).toMatch(/^Time zone: Europe\/Berlin \(it is \d\d:\d\d there\)\. Quiet 22:00-07:00 \(Europe\/Berlin\)\.$/);
    expect(await says('messenger', PSID, 'LIST')).toBe('You follow 1:\nMSFT 412.35\nQuiet 22:00-07:00 (Europe/Berlin).');
    expect(await says('messenger', PSID, 'HELP')).toContain('Quiet 22:00-07:00 (Europe/Berlin). QUIET OFF ends them');
  });
});

describe('TZ OFF', () => {
  // The real clock: Messenger answers only within 24 hours of the person's message, by the sends' clock too.
  beforeEach(() => {
    offset = 0;
  });

  it('goes back to the zone the number suggests, and the quiet hours follow it', async () => {
    const id = subscriberId('sms', PHONE);
    await says('sms', PHONE, 'MSFT');
    await says('sms', PHONE, 'QUIET 22-07');
    expect(await says('sms', PHONE, 'TZ America/Chicago')).toMatch(/^Time zone: America\/Chicago \(it is \d\d:\d\d there\)\. Quiet 22:00-07:00 \(America\/Chicago\)\.$/);
    expect(await says('sms', PHONE, 'TZ OFF')).toMatch(/^Time zone from your number \(United Kingdom\): Europe\/London \(it is \d\d:\d\d there\)\. Quiet 22:00-07:00 \(Europe\/London\)\.$/);
    expect((await record(id)).timeZone).toBe('Europe/London');
  });

  it('without a number to go by (Messenger), it is UTC again', async () => {
    const id = subscriberId('messenger', PSID);
    await says('messenger', PSID, 'MSFT');
    await says('messenger', PSID, 'QUIET 22-07');
    await says('messenger', PSID, 'TZ Europe/Berlin');
    expect(await says('messenger', PSID, 'TZ OFF')).toBe('Time zone removed: Quiet 22:00-07:00 (UTC). Times are UTC until you send your zone, e.g. TZ Europe/London.');
    expect(await record(id)).not.toHaveProperty('timeZone');
    expect(await says('messenger', PSID, 'LIST')).toBe('You follow 1:\nMSFT 412.35\nQuiet 22:00-07:00 (UTC).');
  });
});

describe('alerts in quiet hours', () => {
  async function tickBoth(msft: number, googl: number): Promise<void> {
    await tickSymbol(s.d, 'MSFT', msft);
    await tickSymbol(s.d, 'GOOGL', googl);
  }

  it('ALERT … NOW goes through them, alone: the plain feed stays held until they end', async () => {
    const id = subscriberId('sms', PHONE);
    await s.d.prices.set('GOOGL', 170);
    await says('sms', PHONE, 'MSFT');
    await says('sms', PHONE, 'QUIET 22-07');
    expect(await says('sms', PHONE, 'ALERT GOOGL > 175 NOW')).toMatch(/^Alert set: one message when GOOGL reaches 175 \(now 170\.00\)\..* NOW: it comes in quiet hours too\./);
    const before = (await shown('sms', PHONE)).length;

    // 23:00 in London: GOOGL crosses 175 and MSFT moves; only the urgent crossing goes.
    await tickBoth(413.55, 176);
    await until('the urgent alert', async () => (await shown('sms', PHONE)).length === before + 1);
    expect((await shown('sms', PHONE))[before]).toBe('GOOGL 176.00 ▲ crossed 175');
    await until('the plain feed held until 07:00', async () => (await heldUntil('sms', id)) === MORNING());

    // 07:00: the MSFT update, with its latest price; the spent alert does not come again.
    setClock(MORNING() + 1000);
    await s.d.refiller.wake();
    await until('the update after the quiet hours', async () => (await shown('sms', PHONE)).length === before + 2);
    expect((await shown('sms', PHONE))[before + 1]).toBe('MSFT 413.55 ▲ +1.20 (+0.29%)');
  });

  it('an alert without NOW waits with the feed, and comes in the first message after them', async () => {
    await s.d.prices.set('GOOGL', 170);
    await says('sms', PHONE, 'MSFT');
    await says('sms', PHONE, 'QUIET 22-07');
    await says('sms', PHONE, 'ALERT GOOGL > 175');
    const before = (await shown('sms', PHONE)).length;

    await tickBoth(413.55, 176);
    await until('held until 07:00', async () => (await heldUntil('sms', subscriberId('sms', PHONE))) === MORNING());
    await s.d.refiller.wake();
    expect(await shown('sms', PHONE)).toHaveLength(before);

    setClock(MORNING() + 1000);
    await s.d.refiller.wake();
    await until('the message after the quiet hours', async () => (await shown('sms', PHONE)).length === before + 1);
    expect((await shown('sms', PHONE))[before]).toBe('GOOGL 176.00 ▲ crossed 175 · MSFT 413.55 ▲ +1.20 (+0.29%)');
  });
});

describe('LIST', () => {
  it('shows the tickers, the alerts, the fallback and the quiet hours together', async () => {
    // Today, not the night ahead: WhatsApp's 24-hour window is open, so LIST goes as text.
    setClock(Date.now());
    await s.d.prices.set('GOOGL', 170);
    await says('whatsapp', PHONE, 'MSFT');
    await says('whatsapp', PHONE, 'FALLBACK SMS');
    await says('whatsapp', PHONE, 'QUIET 22-07');
    await says('whatsapp', PHONE, 'ALERT GOOGL > 175 NOW');
    expect(await says('whatsapp', PHONE, 'LIST')).toBe(
      `You follow 1:\nMSFT 412.35\nAlerts: GOOGL above 175 NOW.\nFallback: SMS to +${PHONE}.\nQuiet 22:00-07:00 (Europe/London).`,
    );
  });
});
