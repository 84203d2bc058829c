import type { Worker } from 'bullmq';
import { MessagesClient, type MessagesClientOptions } from '@tickercast/messages-client';
import {
  createLogger,
  createQueues,
  DeliveryLog,
  PriceCache,
  ReplyPacer,
  SubscriptionStore,
  type Channel,
  type Queues,
} from '@tickercast/shared';
import { createFanoutProcessor } from '../../apps/dispatcher/src/fanout.ts';
import { createInboundProcessor } from '../../apps/dispatcher/src/inbound.ts';
import { LastSentPrices } from '../../apps/dispatcher/src/last-sent.ts';
import type { ChannelRules } from '../../apps/dispatcher/src/outbound.ts';
import { createSendProcessor } from '../../apps/dispatcher/src/send.ts';
import { createStatusProcessor } from '../../apps/dispatcher/src/status.ts';
import { startWorkers } from '../../apps/dispatcher/src/workers.ts';
import type { TestRedis } from './redis.ts';
import { BUSINESS_NUMBERS, type RunningSimulator } from './simulator.ts';

export const TEST_RULES: ChannelRules = { whatsappTemplate: { name: 'price_update', locale: 'en_GB' }, messengerTag: undefined, viberTtlS: 600 };
const FAST: Record<Channel, number> = { sms: 1000, whatsapp: 1000, messenger: 1000, viber_service: 1000 };

export interface TestDispatcher {
  queues: Queues;
  replies: ReplyPacer;
  store: SubscriptionStore;
  prices: PriceCache;
  lastSent: LastSentPrices;
  deliveries: DeliveryLog;
  client: MessagesClient;
  workers: Worker[];
  /** (Re)starts the workers, e.g. after jobs were queued with them stopped. */
  start(concurrency?: number): Worker[];
  stopWorkers(): Promise<void>;
  close(): Promise<void>;
}

/** The dispatcher's real workers, in this process, on a test Redis, sending to a simulator. */
export function testDispatcher(
  t: TestRedis,
  sim: RunningSimulator,
  opts: { offered?: string[]; concurrency?: number; rates?: Record<Channel, number>; replyShare?: number; clientOptions?: Partial<MessagesClientOptions> } = {},
): TestDispatcher {
  const queues = createQueues(t.redis, t.keys);
  const store = new SubscriptionStore(t.redis, t.keys);
  const prices = new PriceCache(t.redis, t.keys);
  const lastSent = new LastSentPrices(t.redis, t.keys);
  const deliveries = new DeliveryLog(t.redis, t.keys);
  const replies = new ReplyPacer(queues, t.redis, t.keys, { rates: opts.rates ?? FAST, share: opts.replyShare ?? 0.5 });
  const logger = createLogger('test', 'silent');
  const client = new MessagesClient({ baseUrl: sim.url, auth: sim.auth, ...opts.clientOptions });
  const start = (concurrency = opts.concurrency ?? 10) =>
    startWorkers({
      connection: t.redis,
      keys: t.keys,
      logger,
      concurrency,
      rates: opts.rates ?? FAST,
      inbound: createInboundProcessor({ store, prices, replies, lastSent, offered: opts.offered ?? ['MSFT', 'GOOGL'], logger }),
      fanout: createFanoutProcessor({ store, queues, pageSize: 100 }),
      send: createSendProcessor({ client, store, prices, lastSent, deliveries, senders: { ...BUSINESS_NUMBERS }, rules: TEST_RULES }),
      status: createStatusProcessor({ deliveries, store, logger }),
    });
  const d: TestDispatcher = {
    queues,
    replies,
    store,
    prices,
    lastSent,
    deliveries,
    client,
    workers: start(),
    start(concurrency) {
      d.workers = start(concurrency);
      return d.workers;
    },
    async stopWorkers() {
      await Promise.all(d.workers.map((w) => w.close()));
    },
    async close() {
      await d.stopWorkers();
      client.close();
      await queues.close();
    },
  };
  return d;
}
