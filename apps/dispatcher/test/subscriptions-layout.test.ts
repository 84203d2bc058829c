import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS, createLogger, DUE_PARTITIONS, duePartition, scanKeys, SUBSCRIPTIONS_LAYOUT, subscriberId, type SubscriberId } from '@tickercast/shared';
import { ensureSubscriptionsLayout } from '../src/subscriptions-layout.ts';
import { testDispatcher, type TestDispatcher } from '../../../test/support/dispatcher.ts';
import { until } from '../../../test/support/processes.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { startSimulator, type RunningSimulator } from '../../../test/support/simulator.ts';

const logger = createLogger('test', 'silent');
const number = (i: number) => `44770094${String(i).padStart(3, '0')}`;
const N = 30;

let sim: RunningSimulator;
let t: TestRedis;
const running: TestDispatcher[] = [];

beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(async () => {
  await sim.close();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.close()));
  await t.cleanup();
  sim.store.reset();
});

/**
 * Subscribers as layout v1 (the version before this one) left them, written key by key as it
 * wrote them: under {subs}, a record, a symbol set and a last-sent hash each, the all and active
 * sets, and its due index (v1 partitions=4, the same sorted sets as now). Subscriber N-1 stopped.
 * Everyone was last sent MSFT at 400.00; the odd ones follow GOOGL too, never sent.
 */
async function seedLayoutV1(ids: string[]): Promise<void> {
  const ns = t.namespace;
  // Command by command, not a pipeline: on a cluster the index keys are in other slots than {subs}.
  const p = t.redis;
  const writes: Promise<unknown>[] = [];
  for (const [i, id] of ids.entries()) {
    const stopped = i === N - 1;
    const symbols = i % 2 ? ['MSFT', 'GOOGL'] : ['MSFT'];
    writes.push(p.hset(`${ns}:{subs}:subscriber:${id}`, { channel: 'sms', address: number(i), status: stopped ? 'stopped' : 'active', createdAt: 1000 + i, updatedAt: 2000 }));
    writes.push(p.sadd(`${ns}:{subs}:subscriber:${id}:symbols`, ...symbols));
    writes.push(p.hset(`${ns}:{subs}:subscriber:${id}:last-sent`, 'MSFT', `400|${5000 + i}`));
    writes.push(p.sadd(`${ns}:{subs}:all`, id));
    if (!stopped) {
      writes.push(p.sadd(`${ns}:{subs}:active:sms`, id));
      for (const s of symbols) writes.push(p.zadd(t.keys.dueFollowers('sms', duePartition(id), s), s === 'MSFT' ? 5000 + i : 1000 + i, id));
    }
  }
  writes.push(p.set(t.keys.subscriptionsLayout, 'v1 partitions=4'));
  await Promise.all(writes);
}

/** Who the due index holds for a symbol on SMS, every partition. */
async function followers(symbol: string): Promise<string[]> {
  const out: string[] = [];
  for (let p = 0; p < DUE_PARTITIONS; p++) out.push(...(await t.redis.zrange(t.keys.dueFollowers('sms', p, symbol), '0', '-1')));
  return out.sort();
}

/** Every key matching, on every primary. */
async function keysMatching(pattern: string): Promise<string[]> {
  const out: string[] = [];
  for await (const found of scanKeys(t.redis, pattern)) out.push(...found);
  return out;
}

const ids = Array.from({ length: N }, (_, i) => subscriberId('sms', number(i)));

describe('moving the subscriptions to this layout', () => {
  it('moves layout v1 once, keeping who follows what, their last-sent prices and creation times, and they are fed', async () => {
    t = testRedis();
    await seedLayoutV1(ids);

    expect(await ensureSubscriptionsLayout(t.redis, t.keys, logger)).toEqual({ moved: true, subscribers: N });
    expect(await t.redis.get(t.keys.subscriptionsLayout)).toBe(SUBSCRIPTIONS_LAYOUT);
    expect(await ensureSubscriptionsLayout(t.redis, t.keys, logger)).toEqual({ moved: false, subscribers: 0 });
    // Nothing is left under {subs}.
    expect(await keysMatching(`${t.namespace}:{subs}*`)).toEqual([]);

    const d = await testDispatcher(t, sim, { offered: ['MSFT', 'GOOGL'] });
    running.push(d);
    expect(await d.store.get(ids[3] as SubscriberId)).toMatchObject({ status: 'active', createdAt: 1003, symbols: ['GOOGL', 'MSFT'] });
    expect(await d.store.get(ids[N - 1] as SubscriberId)).toMatchObject({ status: 'stopped', symbols: ['GOOGL', 'MSFT'] });
    expect(await d.store.countByChannel()).toEqual({ sms: N - 1, whatsapp: 0, messenger: 0, viber_service: 0 });
    expect((await d.store.subscribersPage('0', 100, 'sms')).ids.sort()).toEqual([...ids].sort());
    expect(await followers('MSFT')).toEqual(ids.slice(0, N - 1).sort());
    expect(await followers('GOOGL')).toEqual(ids.filter((_, i) => i % 2 && i !== N - 1).sort());
    const state = await d.lastSent.feedState(ids[0]!);
    expect(state.previous.get('MSFT')).toEqual({ price: 400, at: 5000 });

    // Fed from the moved state: the change is against the last price they were sent before the upgrade.
    await d.prices.set('MSFT', 401);
    await d.refiller.wake();
    await until('everyone active fed', () => sim.store.messages().length === N - 1, 10_000);
    expect(sim.store.messages({ to: number(N - 1) })).toHaveLength(0);
    expect(sim.store.messages({ to: number(0) })[0]?.display).toMatch(/^MSFT 401\.00 ▲ \+1\.00/);
  });

  it('a move stopped half-way is finished by the next run, and what people did since wins', async () => {
    t = testRedis();
    await seedLayoutV1(ids);
    // Its start moves them all.
    const d = await testDispatcher(t, sim, { offered: ['MSFT', 'GOOGL', 'AAPL'] });
    running.push(d);
    // What a dispatcher killed in mid-move leaves: the first ten merged into their new records but
    // still under {subs} as well, and no layout mark. Since then one of them sent STOP, another
    // dropped MSFT and took AAPL.
    await seedLayoutV1(ids.slice(0, 10));
    await t.redis.del(t.keys.subscriptionsLayout);
    await d.store.stop(ids[0] as SubscriberId);
    await d.store.unsubscribe(ids[2] as SubscriberId, ['MSFT']);
    await d.store.subscribe('sms', number(2), ['AAPL']);

    expect(await ensureSubscriptionsLayout(t.redis, t.keys, logger)).toEqual({ moved: true, subscribers: 10 });
    expect(await keysMatching(`${t.namespace}:{subs}*`)).toEqual([]);
    expect(await d.store.get(ids[0] as SubscriberId)).toMatchObject({ status: 'stopped' });
    expect(await d.store.isSubscribed(ids[0]!, 'MSFT')).toBe(false);
    // The old MSFT came back from the old keys: a move repeated over a change made since can
    // restore a dropped symbol (the one thing it cannot tell apart), never a stopped subscriber.
    expect((await d.store.get(ids[2] as SubscriberId))?.symbols).toEqual(['AAPL', 'MSFT']);
    expect(await d.store.countByChannel()).toEqual({ sms: N - 2, whatsapp: 0, messenger: 0, viber_service: 0 });
    // Each active one once in the index.
    expect(await followers('MSFT')).toEqual(ids.filter((_, i) => i !== 0 && i !== N - 1).sort());
  });

  it('moves records that sit in a partition they no longer belong to, with their index entries', async () => {
    t = testRedis();
    const id = ids[5]!;
    const right = duePartition(id);
    const wrong = (right + 1) % DUE_PARTITIONS;
    const at = (key: string) => key.replace(`{due:sms:${right}}`, `{due:sms:${wrong}}`);
    // As a version with another partition count left it.
    await t.redis.hset(at(t.keys.subscriber(id)), { channel: 'sms', address: number(5), status: 'active', createdAt: 1000, updatedAt: 2000, 'sym:MSFT': '400|5000' });
    await t.redis.sadd(t.keys.partitionSubscribers('sms', wrong), id);
    await t.redis.sadd(t.keys.partitionActive('sms', wrong), id);
    await t.redis.zadd(t.keys.dueFollowers('sms', wrong, 'MSFT'), 5000, id);
    await t.redis.set(t.keys.subscriptionsLayout, 'v2 partitions=3');

    expect(await ensureSubscriptionsLayout(t.redis, t.keys, logger)).toEqual({ moved: true, subscribers: 1 });
    expect(await t.redis.exists(at(t.keys.subscriber(id)))).toBe(0);
    expect(await t.redis.hgetall(t.keys.subscriber(id))).toMatchObject({ status: 'active', createdAt: '1000', 'sym:MSFT': '400|5000' });
    expect(await t.redis.zrange(t.keys.dueFollowers('sms', wrong, 'MSFT'), '0', '-1')).toEqual([]);
    expect(await t.redis.zscore(t.keys.dueFollowers('sms', right, 'MSFT'), id)).toBe('5000');
    for (const c of CHANNELS) for (let p = 0; p < DUE_PARTITIONS; p++) {
      const expected = c === 'sms' && p === right ? [id] : [];
      expect(await t.redis.smembers(t.keys.partitionSubscribers(c, p))).toEqual(expected);
      expect(await t.redis.smembers(t.keys.partitionActive(c, p))).toEqual(expected);
    }
  });
});
