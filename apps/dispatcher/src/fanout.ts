import {
  broadcastSend,
  CHANNELS,
  fitReplyText,
  JOB_DEFAULTS,
  parseSubscriberId,
  type Channel,
  type FanoutJob,
  type Queues,
  type SendJobSpec,
  type SubscriptionStore,
} from '@tickercast/shared';

export interface FanoutDeps {
  store: SubscriptionStore;
  queues: Queues;
  /** A tick's whole work: the refill takes the subscribers now due, at the rate each channel can take. Never rejects. */
  wake: () => Promise<void>;
  /** Whether this process heard the tick announced and woke the refill for it already (tick-wake.ts). */
  heard?: (symbol: string, version: number) => boolean;
  pageSize?: number;
}

const KNOWN_CHANNELS: ReadonlySet<string> = new Set(CHANNELS);

/** The channel a subscriber id starts with; an id that names no channel throws, as parseSubscriberId does. */
function channelOf(id: string): Channel {
  const channel = id.slice(0, id.indexOf(':'));
  return KNOWN_CHANNELS.has(channel) ? (channel as Channel) : parseSubscriberId(id).channel;
}

/** What a fan-out reached: every follower, and (for a broadcast) how many on each channel. */
export interface FanoutResult {
  count: number;
  byChannel: Partial<Record<Channel, number>>;
}

/** The send for one follower: the broadcast's text fitted to the channel. */
function sendFor(broadcast: NonNullable<FanoutJob['broadcast']>, id: string, channel: Channel): SendJobSpec {
  return broadcastSend(id, fitReplyText(channel, broadcast.text), broadcast.key);
}

/**
 * A tick's job wakes the refill (refill.ts), unless its announcement did already: it costs the
 * same whatever the number of subscribers, and the feed sends are made at the rate each channel
 * can take.
 *
 * A broadcast adds one send per follower, in bulk, to each channel's queue. Its job pages through the symbol's subscribers. The first page it adds itself; every
 * further page becomes a fan-out job of its own, so that the adds of a large fan-out run on every
 * dispatcher's fan-out worker at once instead of one after another in one process. A broadcast
 * to one page of followers (a thousand) costs no extra job.
 */
export function createFanoutProcessor(deps: FanoutDeps) {
  const pageSize = deps.pageSize ?? 1000;

  const addPage = async (broadcast: NonNullable<FanoutJob['broadcast']>, ids: readonly string[]): Promise<void> => {
    await deps.queues.addSends(ids.map((id) => sendFor(broadcast, id, channelOf(id))));
  };

  /** Hands pages on; a retried broadcast hands them on again, which the sends' job ids absorb. */
  const handOn = async (job: FanoutJob, pages: string[][]): Promise<void> => {
    const { symbol, version, tickedAt, broadcast } = job;
    await deps.queues.fanout.addBulk(
      pages.map((subscriberIds) => ({ name: 'page', data: { symbol, version, tickedAt, subscriberIds, ...(broadcast && { broadcast }) }, opts: JOB_DEFAULTS.fanoutPage })),
    );
  };

  return async (job: FanoutJob): Promise<FanoutResult> => {
    const { broadcast } = job;
    const byChannel: Partial<Record<Channel, number>> = {};
    if (!broadcast) {
      // Not awaited: the refills of a busy channel must not hold the tick queue up; one already
      // running for a channel runs once more (Refiller.request), so this tick is not missed.
      if (!deps.heard?.(job.symbol, job.version)) void deps.wake();
      return { count: 0, byChannel };
    }
    const count = (ids: readonly string[]) => {
      for (const id of ids) {
        const channel = channelOf(id);
        byChannel[channel] = (byChannel[channel] ?? 0) + 1;
      }
    };
    if (job.subscriberIds) {
      await addPage(broadcast, job.subscriberIds);
      count(job.subscriberIds);
      return { count: job.subscriberIds.length, byChannel };
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
      count(ids);
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
    await Promise.all([...handedOn, first ? addPage(broadcast, first) : undefined]);
    return { count: total, byChannel };
  };
}
