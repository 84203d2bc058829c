import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { subscriberId, SubscriptionStore } from '@tickercast/shared';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';

describe('opted-in subscribers per channel', () => {
  let t: TestRedis;
  let store: SubscriptionStore;
  beforeEach(() => {
    t = testRedis();
    store = new SubscriptionStore(t.redis, t.keys);
  });
  afterEach(() => t.cleanup());

  it('counts a subscribe once, drops on STOP, returns on START, and ignores people who only wrote', async () => {
    await store.subscribe('sms', '447700900001', ['MSFT']);
    await store.subscribe('sms', '447700900001', ['GOOGL']);
    await store.subscribe('sms', '447700900002', ['MSFT']);
    await store.subscribe('whatsapp', '447700900003', ['MSFT']);
    await store.touch('viber_service', '447700900004');
    expect(await store.countByChannel()).toEqual({ sms: 2, whatsapp: 1, messenger: 0, viber_service: 0 });

    await store.stop(subscriberId('sms', '447700900001'));
    expect((await store.countByChannel()).sms).toBe(1);
    await store.start(subscriberId('sms', '447700900001'));
    expect((await store.countByChannel()).sms).toBe(2);
  });
});
