import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from 'bullmq';
import { MessagesClient } from '@tickercast/messages-client';
import { createLogger, createQueues, DeliveryLog, PriceCache, SubscriptionStore, type Queues } from '@tickercast/shared';
import { createFanoutProcessor } from '../src/fanout.ts';
import { createInboundProcessor } from '../src/inbound.ts';
import { LastSentPrices } from '../src/last-sent.ts';
import { createSendProcessor } from '../src/send.ts';
import { createStatusProcessor } from '../src/status.ts';
import { startWorkers } from '../src/workers.ts';
import { until } from '../../../test/support/processes.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { BUSINESS_NUMBERS, startSimulator, type RunningSimulator } from '../../../test/support/simulator.ts';

/*
 * A ticker far faster than a slow provider: the send queue stays bounded by the number of
 * subscriptions, and once ticks stop every subscriber's last message carries the final price.
 */

describe('conflation under a fast ticker and a stalled provider', () => {
  let sim: RunningSimulator;
  let t: TestRedis;
  let queues: Queues;
  let workers: Worker[];
  let client: MessagesClient;

  beforeAll(async () => {
    sim = await startSimulator(undefined, ({ app }) =>
      app.addHook('onRequest', async (req) => {
        if (req.url === '/v1/messages') await new Promise((r) => setTimeout(r, 150));
      }),
    );
    t = testRedis();
    queues = createQueues(t.redis, t.keys);
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close()));
    client.close();
    await queues.close();
    await t.cleanup();
    await sim.close();
  });

  it('holds at most one send per subscription and ends on the final price for everyone', async () => {
    const store = new SubscriptionStore(t.redis, t.keys);
    const prices = new PriceCache(t.redis, t.keys);
    const lastSent = new LastSentPrices(t.redis, t.keys);
    const deliveries = new DeliveryLog(t.redis, t.keys);
    const logger = createLogger('test', 'silent');
    client = new MessagesClient({ baseUrl: sim.url, auth: sim.auth });
    const subscribers = Array.from({ length: 25 }, (_, i) => `447700900${String(700 + i)}`);
    for (const s of subscribers) await store.subscribe('sms', s, ['MSFT']);

    workers = startWorkers({
      connection: t.redis,
      keys: t.keys,
      logger,
      concurrency: 5,
      rates: { sms: 1000, whatsapp: 1000, messenger: 1000, viber_service: 1000 },
      inbound: createInboundProcessor({ store, prices, queues, lastSent, offered: ['MSFT'], logger }),
      fanout: createFanoutProcessor({ store, queues }),
      send: createSendProcessor({
        client, store, prices, lastSent, deliveries,
        senders: { ...BUSINESS_NUMBERS },
        rules: { whatsappTemplate: { name: 't', locale: 'en_US' }, messengerTag: undefined, viberTtlS: 600 },
      }),
      status: createStatusProcessor({ deliveries, store, logger }),
    });

    let maxPending = 0;
    let finalPrice = 0;
    for (let tick = 0; tick < 60; tick++) {
      finalPrice = 400 + tick * 0.5;
      const q = await prices.set('MSFT', finalPrice);
      await queues.fanout.add('fanout', { symbol: 'MSFT', version: q.version, tickedAt: Date.now() });
      const c = await queues.send.sms.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
      maxPending = Math.max(maxPending, c.waiting! + c.prioritized! + c.active! + c.delayed!);
      await new Promise((r) => setTimeout(r, 20));
    }

    await until('the queue drains', async () => {
      const c = await queues.send.sms.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
      const f = await queues.fanout.getJobCounts('waiting', 'active');
      return c.waiting! + c.prioritized! + c.active! + c.delayed! + f.waiting! + f.active! === 0;
    }, 30_000);

    expect(maxPending).toBeGreaterThan(0);
    expect(maxPending).toBeLessThanOrEqual(subscribers.length);
    // Far fewer messages than ticks × subscribers: stale prices were never sent.
    expect(sim.store.acceptedTotal).toBeLessThan(60 * subscribers.length / 2);
    for (const s of subscribers) {
      const last = sim.store.messages({ to: s }).at(-1);
      expect(last?.display).toMatch(new RegExp(`^MSFT ${finalPrice.toFixed(2)} `));
    }
  }, 60_000);
});
