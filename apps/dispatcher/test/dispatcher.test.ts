import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Worker } from 'bullmq';
import {
  broadcastFanoutJobId,
  duePartition,
  inboundJobId,
  statusJobId,
  REPLY_TEXT_MAX,
  subscriberId,
  type DeliveryLog,
  type InboundMessage,
  type PriceCache,
  type Queues,
  type StatusUpdate,
  type SubscriptionStore,
} from '@tickercast/shared';
import { createFanoutProcessor } from '../src/fanout.ts';
import { testDispatcher, type TestDispatcher } from '../../../test/support/dispatcher.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { BUSINESS_NUMBERS, startSimulator, type RunningSimulator } from '../../../test/support/simulator.ts';

const OFFERED = ['MSFT', 'GOOGL'];
const PHONE = '447700900123';

let sim: RunningSimulator;
let t: TestRedis;
let d: TestDispatcher;
let queues: Queues;
let store: SubscriptionStore;
let prices: PriceCache;
let workers: Worker[];
let deliveries: DeliveryLog;
let seq = 0;

async function until<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 8000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function inbound(text: string, from = PHONE, channel: InboundMessage['channel'] = 'sms'): Promise<unknown> {
  const m: InboundMessage = { channel, from, to: BUSINESS_NUMBERS[channel], text, messageId: `m${++seq}-${Date.now()}`, receivedAt: new Date().toISOString() };
  return queues.inbound.add('inbound', m, { jobId: inboundJobId(m) });
}

const received = (to = PHONE) => sim.store.messages({ to }).map((m) => m.display);

beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(async () => {
  await sim.close();
});

beforeEach(async () => {
  t = testRedis();
  d = await testDispatcher(t, sim, { offered: OFFERED });
  ({ queues, store, prices, workers, deliveries } = d);
  sim.store.reset();
  await prices.set('MSFT', 412.35);
  await prices.set('GOOGL', 171.2);
});

afterEach(async () => {
  await d.close();
  await t.cleanup();
});

describe('dispatcher, against the simulator', () => {
  it('answers unknown text with the help, naming every ticker on offer', async () => {
    await inbound('hello');
    const [help] = await until('help', () => (received().length > 0 ? received() : undefined));
    expect(help).toContain('MSFT');
    expect(help).toContain('GOOGL');
    expect(help).toContain('STOP');
  });

  it('a ticker subscribes, confirms with the current price, and the next tick sends the change', async () => {
    await inbound('msft');
    await until('confirmation', () => received().length === 1);
    expect(received()[0]).toContain('Subscribed to MSFT');
    expect(received()[0]).toContain('412.35');
    expect(await store.isSubscribed(subscriberId('sms', PHONE), 'MSFT')).toBe(true);

    const q = await prices.set('MSFT', 413.55);
    await queues.fanout.add('fanout', { symbol: 'MSFT', version: q.version, tickedAt: Date.now() });
    await until('price update', () => received().length === 2);
    expect(received()[1]).toBe('MSFT 413.55 ▲ +1.20 (+0.29%)');
  });

  it.each([['sms', PHONE], ['messenger', '3333444455556666']] as const)(
    'a reply naming more tickers not on offer than a %s message holds is shortened and sent, never failed',
    async (channel, address) => {
      // Issue 19 item 10: 150 unknown tickers made a 1,000+ character reply that failed six times and never arrived.
      const unknown = Array.from({ length: 150 }, (_, i) => `Q${String(i).padStart(3, '0')}`);
      await inbound(`MSFT ${unknown.join(' ')}`, address, channel);
      const [reply] = await until('reply', () => (sim.store.messages({ to: address }).length > 0 ? sim.store.messages({ to: address }) : undefined));
      expect(reply!.display).toContain('Subscribed to MSFT');
      expect(reply!.display).toContain('Not on offer: Q000');
      expect(reply!.display.length).toBeLessThanOrEqual(REPLY_TEXT_MAX[channel]);
      expect(await queues.send[channel].getJobCounts('failed')).toEqual({ failed: 0 });
    },
  );

  it('the message that reaches the simulator is an SMS from our number, with the job as client_ref', async () => {
    await inbound('LIST');
    await until('reply', () => sim.store.messages({ to: PHONE }).length === 1);
    const [m] = sim.store.messages({ to: PHONE });
    expect(m!.request).toMatchObject({ channel: 'sms', message_type: 'text', to: PHONE, from: BUSINESS_NUMBERS.sms });
    expect((m!.request as { client_ref?: string }).client_ref).toMatch(/^re-in-/);
  });

  it('STOP ends every subscription with one confirmation, and later ticks send nothing', async () => {
    await inbound('MSFT GOOGL');
    await until('confirmation', () => received().length === 1);
    await inbound('STOP');
    await until('stop confirmation', () => received().length === 2);
    expect(received()[1]).toMatch(/unsubscribed/i);

    const id = subscriberId('sms', PHONE);
    expect(await store.isSubscribed(id, 'MSFT')).toBe(false);
    expect(await store.isSubscribed(id, 'GOOGL')).toBe(false);

    for (const [s, p] of [['MSFT', 420], ['GOOGL', 180]] as const) {
      const q = await prices.set(s, p);
      await queues.fanout.add('fanout', { symbol: s, version: q.version, tickedAt: Date.now() });
    }
    await until('fan-outs done', async () => (await queues.fanout.getJobCounts('completed')).completed === 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(received()).toHaveLength(2);
  });

  it('a price send already queued when STOP arrives is not sent', async () => {
    await inbound('MSFT');
    await until('confirmation', () => received().length === 1);
    const id = subscriberId('sms', PHONE);
    await store.stop(id);
    await prices.set('MSFT', 430);
    await queues.send.sms.add('price', { kind: 'price', subscriberId: id, symbol: 'MSFT' });
    await until('send job done', async () => (await queues.send.sms.getJobCounts('completed')).completed! >= 2);
    expect(received()).toHaveLength(1);
  });

  it('an inbound webhook processed twice (same job id) replies once', async () => {
    const m: InboundMessage = { channel: 'sms', from: PHONE, to: BUSINESS_NUMBERS.sms, text: 'HELP', messageId: 'dup-1', receivedAt: new Date().toISOString() };
    await queues.inbound.add('inbound', m, { jobId: inboundJobId(m) });
    await queues.inbound.add('inbound', m, { jobId: inboundJobId(m) });
    await until('reply', () => received().length === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(received()).toHaveLength(1);
  });

  it('STOP MSFT drops one ticker and keeps the other; LIST shows what is left; START resumes after STOP', async () => {
    await inbound('MSFT GOOGL');
    await until('confirmation', () => received().length === 1);
    await inbound('STOP MSFT');
    await until('stop one', () => received().length === 2);
    expect(received()[1]).toContain('Stopped MSFT');
    await inbound('LIST');
    await until('list', () => received().length === 3);
    expect(received()[2]).toContain('GOOGL');
    expect(received()[2]).not.toContain('MSFT');

    await inbound('STOP');
    await until('stop all', () => received().length === 4);
    await inbound('START');
    await until('start', () => received().length === 5);
    expect(received()[4]).toContain('GOOGL');
    expect(await store.isSubscribed(subscriberId('sms', PHONE), 'GOOGL')).toBe(true);
  });

  it('fan-out reaches every subscriber on every channel, one message each', async () => {
    const subs = [
      ['sms', '447700900201'],
      ['sms', '447700900202'],
      ['whatsapp', '447700900203'],
      ['viber_service', '447700900204'],
      ['messenger', '1234567890123456'],
    ] as const;
    // Each wrote to us first, so the chat apps' windows are open.
    for (const [c, a] of subs) {
      await store.touch(c, a);
      await store.subscribe(c, a, ['MSFT']);
    }
    const q = await prices.set('MSFT', 415);
    await queues.fanout.add('fanout', { symbol: 'MSFT', version: q.version, tickedAt: Date.now() });
    await until('all delivered', () => sim.store.messages().length === subs.length);
    for (const [c, a] of subs) {
      const got = sim.store.messages({ channel: c, to: a });
      expect(got).toHaveLength(1);
      expect(got[0]!.display).toMatch(/^MSFT 415\.00/);
    }
  });
});

describe('fan-out in pages', () => {
  it('a broadcast past one page hands its other pages on as jobs; everyone gets it once', async () => {
    const fanoutWorker = workers.find((w) => w.name === 'fanout')!;
    const ran: string[] = [];
    fanoutWorker.on('completed', (job) => ran.push(`${job.name}:${(job.data as { subscriberIds?: string[] }).subscriberIds?.length ?? 'root'}`));
    const numbers = Array.from({ length: 250 }, (_, i) => `447700902${String(i).padStart(3, '0')}`);
    for (const n of numbers) await store.subscribe('sms', n, ['MSFT']);
    await queues.fanout.add('broadcast', { symbol: 'MSFT', version: 0, tickedAt: Date.now(), broadcast: { text: 'market closes early', key: 'k1' } }, { jobId: broadcastFanoutJobId('k1') });
    await until('all delivered', () => sim.store.messages().length === numbers.length, 20_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(new Set(sim.store.messages().map((m) => m.to)).size).toBe(numbers.length);
    expect(sim.store.messages()).toHaveLength(numbers.length);
    expect(sim.store.messages().every((m) => m.display === 'market closes early')).toBe(true);
    // The root job added one page itself (pageSize 100 here) and handed the rest on.
    const pages = ran.filter((r) => r.startsWith('page:'));
    expect(ran.filter((r) => r.startsWith('broadcast:'))).toHaveLength(1);
    expect(pages.length).toBeGreaterThanOrEqual(1);
    expect(pages.reduce((sum, r) => sum + Number(r.split(':')[1]), 0)).toBeGreaterThanOrEqual(numbers.length - 150);
  });

  it('a tick adds no job per subscriber: its job wakes the refill, which queues one feed send each', async () => {
    await d.stopWorkers();
    const numbers = Array.from({ length: 250 }, (_, i) => `447700904${String(i).padStart(3, '0')}`);
    for (const n of numbers) await store.subscribe('sms', n, ['MSFT', 'GOOGL']);
    const q = await prices.set('MSFT', 433);
    await prices.set('GOOGL', 170.02);
    const result = await createFanoutProcessor({ store, queues, wake: async () => undefined })({ symbol: 'MSFT', version: q.version, tickedAt: Date.now() });
    expect(result.count).toBe(0);
    expect(await queues.send.sms.count()).toBe(0);
    expect(await queues.fanout.count()).toBe(0);
    await d.refiller.request('sms');
    const jobs = await queues.send.sms.getPrioritized();
    expect(jobs.map((j) => j.data.subscriberId).sort()).toEqual(numbers.map((n) => `sms:${n}`));
    expect(jobs.every((j) => j.name === 'feed')).toBe(true);
    // Both tickers are new to them: one message each carrying both.
    workers = await d.start();
    await until('all delivered', () => sim.store.messages().length === numbers.length, 20_000);
    expect(new Set(sim.store.messages().map((m) => m.display))).toEqual(new Set(['GOOGL 170.02 · MSFT 433.00']));
  });
});

describe('fan-out conflation', () => {
  it('ticks faster than sending leave at most one waiting send per subscriber', async () => {
    await d.stopWorkers();
    for (let i = 0; i < 50; i++) await store.subscribe('sms', `4477009003${String(i).padStart(2, '0')}`, ['MSFT', 'GOOGL']);
    for (let tick = 0; tick < 5; tick++) {
      await prices.set('MSFT', 400 + tick);
      await prices.set('GOOGL', 170 + tick);
      await d.refiller.request('sms');
    }
    expect(await queues.send.sms.count()).toBe(50);
  });
});

describe('replies and the feed', () => {
  it('a reply goes ahead of feed updates already waiting on the same channel', async () => {
    await d.stopWorkers();
    for (let i = 0; i < 30; i++) await store.subscribe('sms', `4477009005${String(i).padStart(2, '0')}`, ['MSFT']);
    await prices.set('MSFT', 421);
    await d.refiller.request('sms');
    expect(await queues.send.sms.getPrioritizedCount()).toBe(30);
    await queues.send.sms.add('reply', { kind: 'reply', subscriberId: subscriberId('sms', PHONE), text: 'your answer' });
    workers = await d.start(1);
    await until('all sent', () => sim.store.messages().length === 31);
    expect(sim.store.messages()[0]!.to).toBe(PHONE);
  });
});

describe('EVERY', () => {
  it('holds later ticks back until the interval has passed: the subscriber is held, nothing is queued for them', async () => {
    await inbound('MSFT');
    await until('confirmation', () => received().length === 1);
    await inbound('EVERY 1m');
    await until('every reply', () => received().length === 2);
    expect(received()[1]).toContain('every 1 minute');

    // The confirmation carried the price: the interval counts from it.
    const confirmedAt = Date.now();
    const id = subscriberId('sms', PHONE);
    const p = duePartition(id);
    for (const price of [431, 432, 433]) {
      await prices.set('MSFT', price);
      await d.refiller.wake();
    }
    const heldUntil = await until('held', () => t.redis.zscore(d.keys.dueHeld('sms', p), id));
    expect(Number(heldUntil)).toBeGreaterThan(confirmedAt + 50_000);
    expect(Number(heldUntil)).toBeLessThanOrEqual(confirmedAt + 60_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(await queues.send.sms.count()).toBe(0);
    expect(received()).toHaveLength(2);
    // When the hold ends, the next refill finds them due, with the latest price only.
    // (A minute passed: the confirmation went 61 s ago, and the hold ends now.)
    await d.lastSent.set(id, { MSFT: 412.35 }, Date.now() - 61_000);
    await t.redis.zadd(d.keys.dueHeld('sms', p), Date.now() - 1, id);
    await d.refiller.wake();
    await until('the latest price after the hold', () => received().length === 3);
    expect(received()[2]).toMatch(/^MSFT 433\.00 ▲ \+20\.65/);
  });
});

describe('delivery status', () => {
  const status = (u: StatusUpdate) => queues.status.add('status', u, { jobId: statusJobId(u) });

  it('a sent message is recorded, moves forward with its reports, never back, and shows in the history', async () => {
    await inbound('HELP');
    const [m] = await until('reply', () => (received().length > 0 ? sim.store.messages({ to: PHONE }) : undefined));
    const uuid = m!.messageUuid;
    const id = subscriberId('sms', PHONE);
    await until('recorded', async () => (await deliveries.get(uuid))?.state === 'accepted');

    const base = { channel: 'sms' as const, messageId: uuid, to: PHONE, timestamp: new Date().toISOString() };
    await status({ ...base, status: 'delivered' });
    await until('delivered', async () => (await deliveries.get(uuid))?.state === 'delivered');
    await status({ ...base, status: 'submitted' });
    await until('late report processed', async () => (await queues.status.getJobCounts('completed')).completed === 2);
    expect((await deliveries.get(uuid))?.state).toBe('delivered');

    const history = await deliveries.history(id);
    expect(history.map((h) => h.messageUuid)).toEqual([uuid]);
    expect(history[0]!.text).toContain('HELP');
    expect(await deliveries.counts()).toMatchObject({ 'sms:accepted': 1, 'sms:delivered': 1 });
  });

  it('a report that the recipient opted out at the carrier (1240) unsubscribes them', async () => {
    const id = await store.subscribe('sms', PHONE, ['MSFT']);
    await deliveries.recordSent({ messageUuid: 'some-uuid', subscriberId: id, channel: 'sms', text: 'MSFT 412.35' });
    await status({
      channel: 'sms',
      messageId: 'some-uuid',
      to: PHONE,
      status: 'rejected',
      timestamp: new Date().toISOString(),
      error: { code: '1240', reason: 'Illegal Number' },
    });
    await until('unsubscribed', async () => !(await store.isSubscribed(id, 'MSFT')));
  });

  it('a 1240 for a message we never sent, or sent to someone else, stops nobody', async () => {
    const id = await store.subscribe('sms', PHONE, ['MSFT']);
    const other = await store.subscribe('sms', '447700900999', ['MSFT']);
    await deliveries.recordSent({ messageUuid: 'sent-to-other', subscriberId: other, channel: 'sms', text: 'MSFT 412.35' });
    const forged = { channel: 'sms' as const, to: PHONE, status: 'rejected' as const, timestamp: new Date().toISOString(), error: { code: '1240', reason: 'Illegal Number' } };
    await status({ ...forged, messageId: 'never-sent' });
    await status({ ...forged, messageId: 'sent-to-other' });
    await until('both reports processed', async () => (await queues.status.getJobCounts('completed')).completed === 2);
    expect(await store.isSubscribed(id, 'MSFT')).toBe(true);
    expect(await store.isSubscribed(other, 'MSFT')).toBe(true);
  });
});
