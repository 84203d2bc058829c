import { FEED_PRIORITY, parseSubscriberId, type FanoutJob, type Queues, type SendJob, type SubscriptionStore } from '@tickercast/shared';
import type { Channel } from '@tickercast/shared';

export interface FanoutDeps {
  store: SubscriptionStore;
  queues: Queues;
  pageSize?: number;
}

/**
 * Pages through a symbol's subscribers and adds one price send per subscriber, in bulk, to each
 * channel's queue. Deduplicated per (subscriber, symbol): while one is pending no other is
 * added, and one added while another is being sent is kept as the last (keepLastIfActive), so
 * the queue holds at most one waiting send per subscription and the final price always goes out.
 */
export function createFanoutProcessor(deps: FanoutDeps) {
  const pageSize = deps.pageSize ?? 1000;
  return async (job: FanoutJob): Promise<number> => {
    let total = 0;
    for await (const ids of deps.store.subscribersOf(job.symbol, pageSize)) {
      const byChannel = new Map<Channel, { name: string; data: SendJob; opts: object }[]>();
      for (const id of ids) {
        const { channel } = parseSubscriberId(id);
        let list = byChannel.get(channel);
        if (!list) byChannel.set(channel, (list = []));
        list.push({
          name: 'price',
          data: { kind: 'price', subscriberId: id, symbol: job.symbol, tickedAt: job.tickedAt },
          opts: { priority: FEED_PRIORITY, deduplication: { id: `${id}|${job.symbol}`, keepLastIfActive: true } },
        });
      }
      await Promise.all([...byChannel].map(([channel, jobs]) => deps.queues.send[channel].addBulk(jobs)));
      total += ids.length;
    }
    return total;
  };
}
