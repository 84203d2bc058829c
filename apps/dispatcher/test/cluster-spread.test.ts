import { afterAll, describe, expect, it } from 'vitest';
import type { Cluster } from 'ioredis';
import { CHANNELS, createQueues, DeliveryLog, SubscriptionStore } from '@tickercast/shared';
import { onCluster, testRedis } from '../../../test/support/redis.ts';

/*
 * On a cluster (the `cluster` test project), subscriptions must spread over the primaries: each
 * subscriber's state is under their (channel, partition)'s tag, and the 16 tags land on different
 * nodes. On one Redis there is nothing to spread.
 */
describe.runIf(onCluster())('on a Redis Cluster', () => {
  const t = testRedis();
  afterAll(() => t.cleanup());

  it('subscriber records and due index entries land on every primary', async () => {
    const store = new SubscriptionStore(t.redis, t.keys);
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => store.subscribe(CHANNELS[i % CHANNELS.length]!, `4477009${String(i).padStart(5, '0')}`, ['MSFT', 'GOOGL'])),
    );
    const cluster = t.redis as Cluster;
    const perPrimary: Record<string, { records: number; index: number }> = {};
    for (const node of cluster.nodes('master')) {
      const count = async (pattern: string) => {
        let n = 0;
        let cursor = '0';
        do {
          const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          cursor = next;
          n += found.length;
        } while (cursor !== '0');
        return n;
      };
      perPrimary[`${node.options.host}:${node.options.port}`] = { records: await count(`${t.namespace}:{due:*}:sub:*`), index: await count(`${t.namespace}:{due:*}:sym:*`) };
    }
    const counts = Object.values(perPrimary);
    expect(counts, JSON.stringify(perPrimary)).toHaveLength(3);
    for (const c of counts) {
      expect(c.records, JSON.stringify(perPrimary)).toBeGreaterThan(0);
      expect(c.index, JSON.stringify(perPrimary)).toBeGreaterThan(0);
    }
    expect(counts.reduce((n, c) => n + c.records, 0)).toBe(200);
    // Every record reads back through the cluster connection.
    expect((await store.countByChannel()).sms).toBe(50);
  });

  it('the message log lands on every primary, and reads back whole: records, histories, counts', async () => {
    const log = new DeliveryLog(t.redis, t.keys);
    const subscriber = 'sms:447700900123';
    for (let i = 0; i < 60; i++) await log.recordSent({ messageUuid: `uuid-${i}`, subscriberId: subscriber, channel: 'sms', text: `m${i}` });
    await Promise.all(Array.from({ length: 60 }, (_, i) => log.applyStatus({ channel: 'sms', messageId: `uuid-${i}`, status: 'delivered', timestamp: new Date().toISOString() })));
    const cluster = t.redis as Cluster;
    const perPrimary: number[] = [];
    for (const node of cluster.nodes('master')) {
      let n = 0;
      let cursor = '0';
      do {
        const [next, found] = await node.scan(cursor, 'MATCH', `${t.namespace}:{msgs:*}:msg:*`, 'COUNT', 1000);
        cursor = next;
        n += found.length;
      } while (cursor !== '0');
      perPrimary.push(n);
    }
    expect(perPrimary.reduce((a, b) => a + b, 0)).toBe(60);
    for (const n of perPrimary) expect(n, JSON.stringify(perPrimary)).toBeGreaterThan(0);
    expect((await log.history(subscriber)).map((m) => m.text).slice(0, 3)).toEqual(['m59', 'm58', 'm57']);
    expect(await log.counts()).toEqual({ 'sms:accepted': 60, 'sms:delivered': 60 });
  });

  it("each queue has a tag of its own, and the queues land on every primary; so do one channel's send partitions", async () => {
    const queues = createQueues(t.redis, t.keys, { sendPartitions: 8 });
    try {
      for (const q of queues.all()) await q.add('probe', {}, { delay: 60_000 });
      const cluster = t.redis as Cluster;
      const perPrimary: Record<string, string[]> = {};
      for (const node of cluster.nodes('master')) {
        const names = new Set<string>();
        let cursor = '0';
        do {
          const [next, found] = await node.scan(cursor, 'MATCH', `${t.namespace}:{q:*`, 'COUNT', 1000);
          cursor = next;
          for (const k of found) names.add(k.slice(k.indexOf('{q:') + 3, k.indexOf('}')));
        } while (cursor !== '0');
        perPrimary[`${node.options.host}:${node.options.port}`] = [...names].sort();
      }
      expect(Object.values(perPrimary).flat().sort()).toEqual(queues.all().map((q) => q.name).sort());
      for (const names of Object.values(perPrimary)) expect(names.length, JSON.stringify(perPrimary)).toBeGreaterThan(0);
      // SEND_PARTITIONS: one channel's sends are no longer one primary's load.
      const smsOn = Object.values(perPrimary).filter((names) => names.some((n) => n === 'send-sms' || n.startsWith('send-sms-')));
      expect(queues.sendQueues.sms).toHaveLength(8);
      expect(smsOn.length, JSON.stringify(perPrimary)).toBeGreaterThan(1);
    } finally {
      await queues.close();
    }
  });
});
