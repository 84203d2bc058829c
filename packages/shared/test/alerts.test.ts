import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { AlertStore, duePartition, moveTriggers, redisKeys, subscriberId, SubscriptionStore, type RedisKeys } from '@tickercast/shared';
import { testRedis } from '../../../test/support/redis.ts';

const t = testRedis();
const { redis } = t;
let keys: RedisKeys;
let alerts: AlertStore;
let store: SubscriptionStore;

// A fresh key namespace per test, inside the file's namespace (so cleanup() finds it).
let n = 0;
beforeEach(() => {
  keys = redisKeys(`${t.namespace}:${n++}`);
  alerts = new AlertStore(redis, keys);
  store = new SubscriptionStore(redis, keys);
});
afterAll(() => t.cleanup());

const number = (i: number) => `4477009${String(i).padStart(5, '0')}`;
const prices = (price: number) => new Map([['MSFT', price]]);
/** Everyone due an alert message on SMS, over every partition. */
const dueNow = async () => (await alerts.due('sms', 100_000, Date.now() + 1)).sort();
const record = (id: string) => redis.hgetall(keys.subscriber(id));

describe('the alert store', () => {
  it('keeps an alert as a record field and its triggers; a check fires only what the prices crossed, once', async () => {
    const a = subscriberId('sms', number(1));
    const b = subscriberId('sms', number(2));
    const c = subscriberId('sms', number(3));
    await alerts.set('sms', number(1), { symbol: 'MSFT', kind: 'above', level: 420, urgent: false, price: 410 });
    await alerts.set('sms', number(2), { symbol: 'MSFT', kind: 'below', level: 400, urgent: true, price: 410 });
    await alerts.set('sms', number(3), { symbol: 'MSFT', kind: 'move', level: 2, urgent: false, price: 410 });
    expect(await record(a)).toMatchObject({ status: 'active', 'alert:MSFT:above': 'armed|0|420|' });
    expect(await record(b)).toMatchObject({ 'alert:MSFT:below': 'armed|1|400|' });
    expect(await record(c)).toMatchObject({ 'alert:MSFT:move': 'armed|0|2|410' });
    const { up, down } = moveTriggers(410, 2);
    expect(Number(await redis.zscore(keys.alertTriggers('sms', duePartition(c), 'up', 'MSFT'), `move|${c}`))).toBeCloseTo(up, 9);
    expect(Number(await redis.zscore(keys.alertTriggers('sms', duePartition(c), 'down', 'MSFT'), `move|${c}`))).toBeCloseTo(down, 9);

    expect(await alerts.check('sms', prices(418))).toBe(0);
    // 420 itself reaches the price asked for, and 2% above 410 (418.20) is passed on the way.
    expect(await alerts.check('sms', prices(420))).toBe(2);
    expect(await dueNow()).toEqual([a, c].sort());
    expect((await record(a))['alert:MSFT:above']).toBe('fired|0|420|');
    // The same price again, and back and forth above the old one: nothing more.
    expect(await alerts.check('sms', prices(420))).toBe(0);
    expect(await alerts.check('sms', prices(419))).toBe(0);
    expect(await alerts.check('sms', prices(425))).toBe(0);
    expect(await alerts.check('sms', prices(399))).toBe(1);
    expect(await dueNow()).toEqual([a, b, c].sort());
  });

  it('checkThenDue fires what the prices crossed and answers, in the same step, who is due longest, at most `need`', async () => {
    const ids = [5, 6, 7].map((i) => subscriberId('sms', number(i)));
    for (const i of [5, 6, 7]) await alerts.set('sms', number(i), { symbol: 'MSFT', kind: 'above', level: 410 + i, urgent: false, price: 410 });
    // 416 fires the first two (415, 416), who are due at once; 417 then fires the third, after them.
    expect((await alerts.checkThenDue('sms', prices(416), 10)).sort()).toEqual([ids[0], ids[1]].sort());
    expect(await alerts.checkThenDue('sms', prices(417), 1)).toEqual([ids[0]]);
    expect(await alerts.checkThenDue('sms', prices(418), 0)).toEqual([]);
    expect(await dueNow()).toEqual([...ids].sort());
  });

  it('settling: a price crossed is spent, a move is armed again around the price sent; still due only if another fired meanwhile', async () => {
    const id = subscriberId('sms', number(4));
    await alerts.set('sms', number(4), { symbol: 'MSFT', kind: 'above', level: 420, urgent: false, price: 410 });
    await alerts.set('sms', number(4), { symbol: 'MSFT', kind: 'move', level: 5, urgent: true, price: 410 });
    await alerts.set('sms', number(4), { symbol: 'MSFT', kind: 'below', level: 300, urgent: false, price: 410 });
    expect(await alerts.check('sms', prices(431))).toBe(2);
    await alerts.claim([id], Date.now() + 60_000);
    expect(await dueNow()).toEqual([]);
    // A crossing while the send is on its way: the claim stays, the settle finds it.
    expect(await alerts.check('sms', prices(299))).toBe(1);
    expect(await dueNow()).toEqual([]);
    // As the send read them: above and move fired, below still armed then.
    const read = await alerts.list(id);
    const as = (kind: string) => read.find((a) => a.kind === kind)!;
    await alerts.settle(id, [{ alert: as('above'), price: 431 }, { alert: as('move'), price: 431 }]);
    expect(await record(id)).toMatchObject({ 'alert:MSFT:above': 'spent|0|420|', 'alert:MSFT:move': 'armed|1|5|431', 'alert:MSFT:below': 'fired|0|300|' });
    expect(await dueNow()).toEqual([id]);
    await alerts.settle(id, [{ alert: (await alerts.list(id)).find((a) => a.kind === 'below')!, price: 299 }]);
    expect(await dueNow()).toEqual([]);
    // The move's new triggers: 5% around 431.
    const p = duePartition(id);
    expect(Number(await redis.zscore(keys.alertTriggers('sms', p, 'up', 'MSFT'), `move|${id}`))).toBeCloseTo(452.55, 6);
    expect(Number(await redis.zscore(keys.alertTriggers('sms', p, 'down', 'MSFT'), `move|${id}`))).toBeCloseTo(409.45, 6);
    expect((await alerts.list(id)).map((a) => `${a.kind} ${a.state}${a.urgent ? ' urgent' : ''}`)).toEqual(['move armed urgent', 'above spent', 'below spent']);
  });

  it('settling leaves an alert set anew since the send read it: that one fired again is still to be sent', async () => {
    const id = subscriberId('sms', number(8));
    await alerts.set('sms', number(8), { symbol: 'MSFT', kind: 'move', level: 5, urgent: false, price: 410 });
    expect(await alerts.check('sms', prices(431))).toBe(1);
    const read = (await alerts.list(id))[0]!;
    // While that send is on its way: ALERT MSFT 1%, which a small move fires.
    await alerts.set('sms', number(8), { symbol: 'MSFT', kind: 'move', level: 1, urgent: false, price: 431 });
    expect(await alerts.check('sms', prices(436))).toBe(1);
    await alerts.settle(id, [{ alert: read, price: 431 }]);
    expect(await record(id)).toMatchObject({ 'alert:MSFT:move': 'fired|0|1|431' });
    expect(await dueNow()).toContain(id);
    // Its own send carries it: armed again, 1% around 436.
    await alerts.settle(id, [{ alert: (await alerts.list(id))[0]!, price: 436 }]);
    expect(await record(id)).toMatchObject({ 'alert:MSFT:move': 'armed|0|1|436' });
    const p = duePartition(id);
    expect(Number(await redis.zscore(keys.alertTriggers('sms', p, 'up', 'MSFT'), `move|${id}`))).toBeCloseTo(moveTriggers(436, 1).up, 9);
    expect(await dueNow()).not.toContain(id);
  });

  it('a crossing that fires more than one script takes is fired whole, in batches', async () => {
    const N = 2500;
    const tx = redis.multi();
    for (let i = 0; i < N; i++) tx.hset(keys.subscriber(subscriberId('sms', number(i))), { channel: 'sms', address: number(i), status: 'active' });
    await tx.exec();
    for (let i = 0; i < N; i++) await alerts.set('sms', number(i), { symbol: 'MSFT', kind: 'above', level: 420, urgent: false, price: 410 });
    expect(await alerts.check('sms', prices(421))).toBe(N);
    expect((await dueNow()).length).toBe(N);
  });

  it('SUBSCRIBE of the symbol, STOP of it, STOP and ALERT OFF remove alerts and their triggers', async () => {
    const id = subscriberId('sms', number(5));
    const p = duePartition(id);
    const triggers = async () => (await redis.zcard(keys.alertTriggers('sms', p, 'up', 'MSFT'))) + (await redis.zcard(keys.alertTriggers('sms', p, 'down', 'MSFT')));
    await store.subscribe('sms', number(5), ['MSFT']);
    const set = () => alerts.set('sms', number(5), { symbol: 'MSFT', kind: 'move', level: 2, urgent: false, price: 410 });
    expect(await set()).toEqual({ replacedFeed: true });
    // Out of the plain feed of MSFT while the alert lasts.
    expect(await store.isSubscribed(id, 'MSFT')).toBe(false);
    expect(await triggers()).toBe(2);
    await store.subscribe('sms', number(5), ['MSFT']);
    expect(await triggers()).toBe(0);
    expect(await alerts.list(id)).toEqual([]);
    expect(await store.isSubscribed(id, 'MSFT')).toBe(true);

    await set();
    await store.unsubscribe(id, ['MSFT']);
    expect(await triggers()).toBe(0);
    expect(await alerts.list(id)).toEqual([]);

    await set();
    expect(await alerts.check('sms', prices(400))).toBe(1);
    await store.stop(id);
    expect(await triggers()).toBe(0);
    expect(await alerts.list(id)).toEqual([]);
    expect(await dueNow()).toEqual([]);

    await set();
    expect(await alerts.remove(id, ['GOOGL'])).toBe(0);
    expect(await alerts.remove(id)).toBe(1);
    expect(await triggers()).toBe(0);
  });
});
