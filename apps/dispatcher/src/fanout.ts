import { CHANNELS, FEED_PRIORITY, parseSubscriberId, type FanoutJob, type Queues, type SendJob, type SubscriptionStore } from '@tickercast/shared';
import type { Channel } from '@tickercast/shared';

export interface FanoutDeps {
  store: SubscriptionStore;
  queues: Queues;
  pageSize?: number;
}

const KNOWN_CHANNELS: ReadonlySet<string> = new Set(CHANNELS);

/** The channel a subscriber id starts with; an id that names no channel throws, as parseSubscriberId does. */
function channelOf(id: string): Channel {
  const channel = id.slice(0, id.indexOf(':'));
  return KNOWN_CHANNELS.has(channel) ? (channel as Channel) : parseSubscriberId(id).channel;
}

/**
 * Pages through a symbol's subscribers and adds one price send per subscriber, in bulk, to each
 * channel's queue. Deduplicated per (subscriber, symbol): while one is pending no other is
 * added, and one added while another is being sent is kept as the last (keepLastIfActive), so
 * the queue holds at most one waiting send per subscription and the final price always goes out.
 */
export function createFanoutProcessor(deps: FanoutDeps) {
  const pageSize = deps.pageSize ?? 1000;

  const addPage = async (job: FanoutJob, ids: string[]): Promise<void> => {
    const byChannel = new Map<Channel, { name: string; data: SendJob; opts: object }[]>();
    for (const id of ids) {
      const channel = channelOf(id);
      let list = byChannel.get(channel);
      if (!list) byChannel.set(channel, (list = []));
      list.push({
        name: 'price',
        data: { kind: 'price', subscriberId: id, symbol: job.symbol, tickedAt: job.tickedAt },
        opts: { priority: FEED_PRIORITY, deduplication: { id: `${id}|${job.symbol}`, keepLastIfActive: true } },
      });
    }
    await Promise.all([...byChannel].map(([channel, jobs]) => deps.queues.send[channel].addBulk(jobs)));
  };

  return async (job: FanoutJob): Promise<number> => {
    let total = 0;
    const pages = deps.store.subscribersOf(job.symbol, pageSize);
    const readAhead = () => {
      const p = pages.next();
      p.catch(() => undefined); // awaited below; this only keeps a failure during an add from counting as unhandled
      return p;
    };
    // The next page is read while this one is added: SSCAN and addBulk overlap instead of taking turns.
    let next = readAhead();
    try {
      for (let page = await next; !page.done; page = await next) {
        next = readAhead();
        await addPage(job, page.value);
        total += page.value.length;
      }
    } catch (err) {
      // Closes the scan once the read already under way settles; the failure is reported now, not after it.
      void pages.return(undefined).catch(() => undefined);
      throw err;
    }
    return total;
  };
}
