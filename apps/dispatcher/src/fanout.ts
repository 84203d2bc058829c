import { CHANNELS, FEED_PRIORITY, JOB_DEFAULTS, parseSubscriberId, type FanoutJob, type Queues, type SendJob, type SubscriptionStore } from '@tickercast/shared';
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
 * Adds one price send per subscriber of a tick, in bulk, to each channel's queue. Deduplicated
 * per (subscriber, symbol): while one is pending no other is added, and one added while another
 * is being sent is kept as the last (keepLastIfActive), so the queue holds at most one waiting
 * send per subscription and the final price always goes out.
 *
 * The tick's job pages through the symbol's subscribers. The first page it adds itself; every
 * further page becomes a fan-out job of its own, so that the adds of a large fan-out run on every
 * dispatcher's fan-out worker at once instead of one after another in one process. A tick with
 * one page of subscribers (a thousand) costs no extra job.
 */
export function createFanoutProcessor(deps: FanoutDeps) {
  const pageSize = deps.pageSize ?? 1000;

  const addPage = async (job: FanoutJob, ids: readonly string[]): Promise<void> => {
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

  /** Hands pages on; a retried tick hands them on again, which the sends' deduplication absorbs. */
  const handOn = async (job: FanoutJob, pages: string[][]): Promise<void> => {
    const { symbol, version, tickedAt } = job;
    await deps.queues.fanout.addBulk(
      pages.map((subscriberIds) => ({ name: 'page', data: { symbol, version, tickedAt, subscriberIds }, opts: JOB_DEFAULTS.fanoutPage })),
    );
  };

  return async (job: FanoutJob): Promise<number> => {
    if (job.subscriberIds) {
      await addPage(job, job.subscriberIds);
      return job.subscriberIds.length;
    }
    let first: string[] | undefined;
    let pending: string[][] = [];
    const handedOn: Promise<void>[] = [];
    const handOnNow = (pages: string[][]) => {
      const p = handOn(job, pages);
      p.catch(() => undefined); // awaited below; this keeps a failure mid-scan from counting as unhandled
      handedOn.push(p);
    };
    let total = 0;
    for await (const ids of deps.store.subscribersOf(job.symbol, pageSize)) {
      total += ids.length;
      if (!first) {
        first = ids;
        continue;
      }
      // Pages go out a few at a time while the scan goes on, so other workers start early.
      pending.push(ids);
      if (pending.length === 4) {
        handOnNow(pending);
        pending = [];
      }
    }
    if (pending.length > 0) handOnNow(pending);
    await Promise.all([...handedOn, first ? addPage(job, first) : undefined]);
    return total;
  };
}
