import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inboundJobId, sendPartition, sendQueueName, subscriberId, type Channel } from '@tickercast/shared';
import { sendIdOf } from '../src/workers.ts';
import { testDispatcher, tick, type TestDispatcher } from '../../../test/support/dispatcher.ts';
import { until } from '../../../test/support/processes.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { startSimulator, type RunningSimulator } from '../../../test/support/simulator.ts';

/*
 * Issue 15: SEND_PARTITIONS splits each channel's send queue, so that on a cluster one channel's
 * sends spread over several primaries. A subscriber's sends always go to one partition; the
 * channel keeps one schedule and one window, so its rate holds across partitions and dispatchers.
 */

const PARTITIONS = 4;
const FAST: Record<Channel, number> = { sms: 1000, whatsapp: 1000, messenger: 1000, viber_service: 1000 };
const number = (i: number) => `4477009${String(70 + Math.floor(i / 1000)).padStart(2, '0')}${String(i % 1000).padStart(3, '0')}`;

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
  sim.ctx.limiter.setLimits({ sms: 0 });
  // The limiter's rolling seconds too: a test's arrivals must not count against the next one's.
  sim.ctx.limiter.reset();
  sim.store.reset();
});

async function dispatcher(rates = FAST): Promise<TestDispatcher> {
  const d = await testDispatcher(t, sim, { offered: ['MSFT'], rates, env: { SEND_PARTITIONS: String(PARTITIONS) } });
  running.push(d);
  return d;
}


const lastPrices = () => {
  const last = new Map<string, string>();
  for (const m of sim.store.messages({ channel: 'sms' })) last.set(m.to, m.display);
  return last;
};

describe('SEND_PARTITIONS', () => {
  it("spreads a channel's sends over its partitions, each subscriber's in one, and every subscriber gets the price", async () => {
    t = testRedis();
    const d = await dispatcher();
    expect(d.queues.sendQueues.sms.map((q) => q.name)).toEqual(['send-sms', 'send-sms-1', 'send-sms-2', 'send-sms-3']);
    const N = 40;
    const ids = Array.from({ length: N }, (_, i) => subscriberId('sms', number(i)));
    for (let i = 0; i < N; i++) await d.store.subscribe('sms', number(i), ['MSFT']);
    await tick(d, 'MSFT', 412.35);
    await until('everyone got the price', () => [...lastPrices().values()].filter((text) => text.startsWith('MSFT 412.35')).length === N);

    // Each subscriber's feed send ran in the partition sendPartition names, and every partition had some.
    // (A job is completed a moment after its message is accepted: its bookkeeping comes after.)
    const completed = () => Promise.all(d.queues.sendQueues.sms.map(async (q) => (await q.getCompleted()).map((j) => j.data.subscriberId)));
    await until('every send job completed', async () => new Set((await completed()).flat()).size === N);
    const byPartition = await completed();
    expect(new Set(byPartition.flat())).toEqual(new Set(ids));
    byPartition.forEach((members, p) => {
      expect(members.length, `partition ${p}`).toBeGreaterThan(0);
      for (const id of members) expect(sendPartition(id, PARTITIONS)).toBe(p);
    });

    // A reply goes to the person's partition too: LIST from one of them.
    const someone = ids[7]!;
    const m = { channel: 'sms' as const, from: number(7), to: '447700900000', text: 'LIST', messageId: 'm-list-7', receivedAt: new Date().toISOString() };
    await d.queues.inbound.add('inbound', m, { jobId: inboundJobId(m) });
    await until('the LIST answer', () => sim.store.messages({ channel: 'sms', to: number(7) }).some((m) => m.display.startsWith('You follow 1')));
    await until('the reply job completed in their partition', async () =>
      (await d.queues.sendFor(someone).getCompleted()).some((j) => j.data.kind === 'reply' && j.data.subscriberId === someone),
    );
    expect(d.queues.sendFor(someone).name).toBe(sendQueueName('sms', sendPartition(someone, PARTITIONS)));
  });

  it("keeps the channel's one rate across partitions and two dispatchers: no rolling second over the limit, no 429", async () => {
    t = testRedis();
    const LIMIT = 10;
    sim.ctx.limiter.setLimits({ sms: LIMIT });
    const rates = { ...FAST, sms: LIMIT };
    const [d] = await Promise.all([dispatcher(rates), dispatcher(rates)]);
    const N = 30;
    for (let i = 0; i < N; i++) await d!.store.subscribe('sms', number(100 + i), ['MSFT']);
    await tick(d!, 'MSFT', 300.5);
    await until('everyone got the price', () => [...lastPrices().values()].filter((text) => text.startsWith('MSFT 300.50')).length === N, 15_000);
    const stats = sim.ctx.limiter.stats().sms;
    expect(stats.throttled).toBe(0);
    expect(stats.maxPerSecond).toBeLessThanOrEqual(LIMIT);
    // The sends did run in several partitions (else this would say nothing about them).
    const used = await Promise.all(d!.queues.sendQueues.sms.map((q) => q.getCompletedCount()));
    expect(used.filter((n) => n > 0).length).toBeGreaterThan(1);
  });

  it('gives the same job id in two partitions two send ids (the window and client_ref know a send by it)', () => {
    t = testRedis();
    expect(sendIdOf('57', 0)).toBe('57');
    expect(new Set([0, 1, 2, 3].map((p) => sendIdOf('57', p))).size).toBe(4);
  });
});
