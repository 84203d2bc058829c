import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { duePartition, HELD_OFFSET, subscriberId, type Channel } from '@tickercast/shared';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { tick as tickSymbol } from '../../../test/support/dispatcher.ts';
import { startSystem, until, type TestSystem } from '../../../test/support/system.ts';

/*
 * Issue 16, price alerts, through the whole system: the phone's ALERT reaches the dispatcher
 * through the ingress, the alert is kept in Redis, a tick's refill fires it when the price crosses,
 * and its message arrives on the phone through the same feed send as every update.
 */

const PHONE = '447700900123';
const OTHER = '447700900456';
const ID = subscriberId('sms', PHONE);
let t: TestRedis;
let s: TestSystem;

beforeEach(async () => {
  t = testRedis();
  s = await startSystem(t);
  await s.d.prices.set('MSFT', 412.35);
  await s.d.prices.set('GOOGL', 170);
});
afterEach(async () => {
  await s.close();
  await t.cleanup();
});

const shown = (channel: Channel, number: string) => s.shown(channel, number);
/** An SMS phone texts, and waits for the answer; returns it. */
const says = (number: string, text: string) => s.says('sms', number, text);
const record = () => t.redis.hgetall(s.d.keys.subscriber(ID));

/**
 * A tick of MSFT, and its whole effect: the refill has checked this person's partition's alerts
 * against the new price, nothing is due or queued, and every message that went is on the phone.
 */
async function tick(price: number, symbol = 'MSFT'): Promise<void> {
  await tickSymbol(s.d, symbol, price);
  const p = duePartition(ID);
  await until(`the tick to ${price} checked and served`, async () => {
    const checked = await t.redis.hget(s.d.keys.alertsChecked('sms', p), symbol);
    const due = await t.redis.zcard(s.d.keys.alertsDue('sms', p));
    const c = await s.d.queues.send.sms.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
    const f = await s.d.queues.fanout.getJobCounts('waiting', 'active');
    return Number(checked) === price && due === 0 && c.waiting! + c.prioritized! + c.active! + c.delayed! + f.waiting! + f.active! === 0;
  });
}

describe('ALERT MSFT > 420 and < 400', () => {
  it('fires once when the price crosses, not again; LIST shows it spent', async () => {
    expect(await says(PHONE, 'ALERT MSFT > 420')).toBe('Alert set: one message when MSFT reaches 420 (now 412.35). ALERT OFF MSFT removes it.');
    expect(await record()).toMatchObject({ status: 'active', 'alert:MSFT:above': 'armed|0|420|' });
    expect(await says(PHONE, 'LIST')).toBe('You follow no ticker plainly.\nAlerts: MSFT above 420.');
    const before = (await shown('sms', PHONE)).length;

    await tick(415);
    await tick(419.99);
    expect(await shown('sms', PHONE)).toHaveLength(before);
    await tick(421.1);
    expect((await shown('sms', PHONE)).slice(before)).toEqual(['MSFT 421.10 ▲ crossed 420']);
    // Down and up through 420 again: spent, nothing more.
    await tick(418);
    await tick(425);
    expect((await shown('sms', PHONE)).slice(before)).toEqual(['MSFT 421.10 ▲ crossed 420']);
    expect(await says(PHONE, 'LIST')).toBe('You follow no ticker plainly.\nAlerts: MSFT above 420 (spent: it fired).');
    // Its trigger is gone from the index: what a tick reads holds only live alerts.
    expect(await t.redis.zcard(s.d.keys.alertTriggers('sms', duePartition(ID), 'up', 'MSFT'))).toBe(0);
  });

  it('a price below fires on the way down; a price already passed waits for the next crossing', async () => {
    expect(await says(PHONE, 'alert msft < 400')).toBe('Alert set: one message when MSFT falls to 400 (now 412.35). ALERT OFF MSFT removes it.');
    expect(await says(PHONE, 'ALERT MSFT ABOVE 410')).toBe('Alert set: MSFT is 412.35, above 410 already: one message when it comes back up to 410. ALERT OFF MSFT removes it.');
    const before = (await shown('sms', PHONE)).length;
    await tick(415);
    expect(await shown('sms', PHONE)).toHaveLength(before);
    await tick(399.5);
    await tick(411);
    expect((await shown('sms', PHONE)).slice(before)).toEqual(['MSFT 399.50 ▼ crossed 400', 'MSFT 411.00 ▲ crossed 410']);
  });

  it('a later crossing replaces an unsent earlier one: one message, with the latest price and both reasons', async () => {
    await says(PHONE, 'ALERT MSFT > 420');
    await says(PHONE, 'ALERT MSFT < 400 NOW');
    const before = (await shown('sms', PHONE)).length;
    // The sends stop; the refill still runs when asked, and queues the alert's feed send.
    await s.d.stopWorkers();
    for (const price of [421, 399]) {
      const q = await s.d.prices.set('MSFT', price);
      expect(q.price).toBe(price);
      await s.d.refiller.request('sms');
    }
    const fired = await s.d.lastSent.feedState(ID);
    expect(fired.fired.map((a) => a.kind).sort()).toEqual(['above', 'below']);
    // The urgent flag (ALERT … NOW) reaches the feed send's state: quiet hours let it through.
    expect(fired.urgent).toBe(true);
    expect(await s.d.queues.send.sms.getJobCounts('prioritized', 'waiting')).toEqual({ prioritized: 1, waiting: 0 });

    await s.d.start();
    await until('the alert message', async () => (await shown('sms', PHONE))[before]);
    await tick(398);
    expect((await shown('sms', PHONE)).slice(before)).toEqual(['MSFT 399.00 ▼ crossed 400, crossed 420']);
    expect(await record()).toMatchObject({ 'alert:MSFT:above': 'spent|0|420|', 'alert:MSFT:below': 'spent|1|400|' });
  });
});

describe('ALERT MSFT 2%', () => {
  it('a message only after a move of 2% since the last one sent for it', async () => {
    expect(await says(PHONE, 'ALERT MSFT 2%')).toBe('Alert set: a message when MSFT moves 2% from 412.35, then from the price in that message. ALERT OFF MSFT removes it.');
    const before = (await shown('sms', PHONE)).length;
    await tick(415);
    await tick(419.9);
    expect(await shown('sms', PHONE)).toHaveLength(before);
    await tick(421); // +2.1% from 412.35
    await tick(425); // +1.0% from 421
    await tick(412.6); // -1.995% from 421
    await tick(412.5); // -2.02% from 421
    expect((await shown('sms', PHONE)).slice(before)).toEqual(['MSFT 421.00 ▲ +2.1% since your last', 'MSFT 412.50 ▼ -2.0% since your last']);
    expect(await record()).toMatchObject({ 'alert:MSFT:move': 'armed|0|2|412.5' });
    expect(await says(PHONE, 'LIST')).toBe('You follow no ticker plainly.\nAlerts: MSFT moves 2% from 412.50.');
  });
});

describe('alerts and the plain feed', () => {
  it('an alert replaces the plain feed of its symbol; the other tickers still come; sending the ticker again turns the alert off', async () => {
    await says(PHONE, 'MSFT GOOGL');
    expect(await says(PHONE, 'ALERT MSFT 2%')).toMatch(/It replaces your MSFT updates \(send MSFT to get them again\)\./);
    expect(await record()).not.toHaveProperty('sym:MSFT');
    expect(await says(PHONE, 'LIST')).toBe('You follow 1:\nGOOGL 170.00\nAlerts: MSFT moves 2% from 412.35.');
    const before = (await shown('sms', PHONE)).length;
    await tick(413);
    await tick(171, 'GOOGL');
    expect((await shown('sms', PHONE)).slice(before)).toEqual(['GOOGL 171.00 ▲ +1.00 (+0.59%)']);

    expect(await says(PHONE, 'MSFT')).toMatch(/^Subscribed to MSFT\./);
    expect(Object.keys(await record()).filter((f) => f.startsWith('alert:'))).toEqual([]);
    const after = (await shown('sms', PHONE)).length;
    await tick(414);
    expect((await shown('sms', PHONE)).slice(after)).toEqual(['MSFT 414.00 ▲ +1.00 (+0.24%)']);
  });

  it('EVERY holds the plain feed, not an alert: the alert comes alone, and the hold stays as it was', async () => {
    await says(PHONE, 'GOOGL');
    await says(PHONE, 'EVERY 1h');
    await says(PHONE, 'ALERT MSFT > 420');
    await tick(171, 'GOOGL'); // the first update after EVERY: it goes, and starts the hour
    const before = (await shown('sms', PHONE)).length;
    await tick(172, 'GOOGL');
    await tick(421);
    expect((await shown('sms', PHONE)).slice(before)).toEqual(['MSFT 421.00 ▲ crossed 420']);
    // Still held in the due index until the hour is over: the alert's send did not end the hold.
    const held = await t.redis.zscore(s.d.keys.dueHeld('sms', duePartition(ID)), ID);
    expect(Number(held)).toBeGreaterThan(Date.now() + 3_000_000);
  });

  it('ALERT OFF MSFT, STOP MSFT and STOP remove alerts; a tick then sends nothing', async () => {
    await says(PHONE, 'ALERT MSFT > 420');
    expect(await says(PHONE, 'ALERT OFF MSFT')).toBe('Alerts on MSFT removed.');
    expect(await says(PHONE, 'ALERT OFF MSFT')).toBe('You have no alerts on MSFT. Nothing changed.');
    await says(PHONE, 'GOOGL');
    await says(PHONE, 'ALERT MSFT < 400');
    await says(PHONE, 'STOP MSFT');
    await says(PHONE, 'ALERT GOOGL 5%');
    await says(PHONE, 'STOP');
    expect(Object.keys(await record()).filter((f) => f.startsWith('alert:'))).toEqual([]);
    const p = duePartition(ID);
    for (const dir of ['up', 'down'] as const) for (const sym of ['MSFT', 'GOOGL']) expect(await t.redis.zcard(s.d.keys.alertTriggers('sms', p, dir, sym))).toBe(0);
    const before = (await shown('sms', PHONE)).length;
    await tick(430);
    await tick(100, 'GOOGL');
    expect(await shown('sms', PHONE)).toHaveLength(before);
  });

  it('a follower taken for an alert is held on their plain tickers too, so no refill takes them again while its send waits', async () => {
    await s.close();
    // The sms watermark is its floor, 10: ten others who waited longer fill the plain share of one refill.
    s = await startSystem(t, { rates: { sms: 5, whatsapp: 1000, messenger: 1000, viber_service: 1000 } });
    for (let i = 0; i < 10; i++) await s.d.store.subscribe('sms', `4477009002${String(i).padStart(2, '0')}`, ['GOOGL']);
    await says(PHONE, 'GOOGL');
    await says(PHONE, 'ALERT MSFT > 420');
    await s.d.stopWorkers();
    await s.d.prices.set('GOOGL', 171);
    await s.d.prices.set('MSFT', 421);
    await s.d.refiller.request('sms');
    expect(await s.d.queues.send.sms.getPrioritizedCount()).toBe(10); // the alert, and nine of the ten
    const googl = await t.redis.zscore(s.d.keys.dueFollowers('sms', duePartition(ID), 'GOOGL'), ID);
    expect(Number(googl)).toBeGreaterThanOrEqual(HELD_OFFSET);
  });

  it('a STOP wins over an alert message already queued', async () => {
    await says(PHONE, 'ALERT MSFT > 420');
    await s.d.stopWorkers();
    await s.d.prices.set('MSFT', 421);
    await s.d.refiller.request('sms');
    expect(await s.d.queues.send.sms.getPrioritizedCount()).toBe(1);
    await s.d.processors.inbound({ channel: 'sms', from: PHONE, to: '447700900000', text: 'STOP', messageId: 'stop-1', receivedAt: new Date().toISOString() }, 'stop-1');
    const before = (await shown('sms', PHONE)).length;
    await s.d.start();
    await until('the STOP confirmation', async () => (await shown('sms', PHONE)).length > before || undefined);
    await tick(422);
    expect((await shown('sms', PHONE)).slice(before)).toEqual(['You are unsubscribed and will get no more messages. Reply START to resume.']);
  });
});

describe('bad ALERT commands', () => {
  it.each([
    ['ALERT MSFT 2', 'Sorry, "ALERT MSFT 2" is not understood: did you mean ALERT MSFT 2%? Nothing changed.'],
    ['ALERT MSFT 420', 'Sorry, "ALERT MSFT 420" is not understood: did you mean ALERT MSFT > 420 or ALERT MSFT < 420? Nothing changed.'],
    ['ALERT IBM 2%', /^Sorry, not understood: IBM is not a ticker on offer\. Send ALERT MSFT 2%, ALERT MSFT > 420 or ALERT MSFT < 400/],
    ['ALERT MSFT 90%', /^Sorry, not understood: a move of 90% \(from 0\.1% to 50%\)\./],
    ['ALERT MSFT >', /^Sorry, not understood: ALERT MSFT > needs a price, e\.g\. ALERT MSFT > 420\./],
    ['ALERT', /^Sorry, not understood: ALERT needs a ticker and a move or a price\. Send ALERT MSFT 2%, ALERT MSFT > 420 or ALERT MSFT < 400 \(add NOW/],
  ])('%s gets a short reply naming it and the right form, and changes nothing', async (text, reply) => {
    await says(PHONE, 'MSFT');
    const before = await record();
    expect(await says(PHONE, text)).toMatch(reply);
    const after = await record();
    expect({ ...after, updatedAt: '', lastInboundAt: '' }).toEqual({ ...before, updatedAt: '', lastInboundAt: '' });
  });

  it('HELP names the alerts', async () => {
    expect(await says(OTHER, 'HELP')).toContain('ALERT MSFT 2%, ALERT MSFT > 420 or ALERT MSFT < 400 message you only on a move or once on a crossing');
  });
});
