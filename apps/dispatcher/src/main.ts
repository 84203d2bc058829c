import closeWithGrace from 'close-with-grace';
import { MessagesClient } from '@tickercast/messages-client';
import {
  closeRedis,
  createLogger,
  createQueues,
  createRedis,
  DeliveryLog,
  loadConfigOrExit,
  MetricsRecorder,
  PendingSignups,
  PriceCache,
  ratesFor,
  ReplyPacer,
  redisKeys,
  senderFor,
  SubscriptionStore,
  vonageAuth,
} from '@tickercast/shared';
import { createFanoutProcessor } from './fanout.ts';
import { createInboundProcessor } from './inbound.ts';
import { instrumentWorkers } from './instrument.ts';
import { LastSentPrices } from './last-sent.ts';
import { createSendProcessor } from './send.ts';
import { createStatusProcessor } from './status.ts';
import { startWorkers } from './workers.ts';

const config = loadConfigOrExit();
const logger = createLogger('dispatcher', config.LOG_LEVEL);
const auth = vonageAuth(config);
if (!auth) {
  logger.fatal(
    'no Vonage credentials: set VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY (or VONAGE_API_KEY and VONAGE_API_SECRET); `npm start` sets them for the simulator',
  );
  process.exit(78);
}

const keys = redisKeys(config.REDIS_NAMESPACE);
const redis = createRedis(config.REDIS_URL, { connectionName: 'dispatcher' });
// The jobs' own reads and writes go on a connection of their own that sends every command issued
// in one event-loop turn as one write: with dozens of sends in flight, fewer syscalls and
// packets for the same work. BullMQ keeps its connection as it expects it (no auto-pipelining).
const data = createRedis(config.REDIS_URL, { connectionName: 'dispatcher-data', enableAutoPipelining: true });
const queues = createQueues(redis, keys);
const replies = new ReplyPacer(queues, data, keys, { rates: ratesFor(config), share: config.REPLY_RATE_SHARE });
const store = new SubscriptionStore(data, keys);
const prices = new PriceCache(data, keys);
const lastSent = new LastSentPrices(data, keys);
const deliveries = new DeliveryLog(data, keys);
const metrics = new MetricsRecorder(data, keys);
const client = new MessagesClient({
  baseUrl: config.VONAGE_API_URL,
  auth,
  timeoutMs: config.VONAGE_TIMEOUT_MS,
  onResponse: ({ channel, status, durationMs }) => {
    metrics.inc('tickercast_provider_responses_total', { channel, status: String(status) });
    metrics.observe('tickercast_provider_request_ms', { channel }, durationMs);
  },
});

await client.prepare().catch((err: unknown) => logger.error({ err }, 'the Vonage credentials cannot be used'));

const workers = startWorkers({
  connection: redis,
  keys,
  logger,
  concurrency: config.DISPATCHER_CONCURRENCY,
  rates: ratesFor(config),
  inbound: createInboundProcessor({ store, prices, replies, lastSent, signups: new PendingSignups(data, keys), offered: config.TICKER_SYMBOLS, logger }),
  fanout: createFanoutProcessor({ store, queues }),
  send: createSendProcessor({
    client,
    store,
    prices,
    lastSent,
    deliveries,
    senders: senderFor(config),
    rules: {
      whatsappTemplate: { name: config.WHATSAPP_TEMPLATE_NAME, locale: config.WHATSAPP_TEMPLATE_LOCALE },
      messengerTag: config.MESSENGER_TAG,
      viberTtlS: config.VIBER_TTL_S,
    },
  }),
  status: createStatusProcessor({ deliveries, store, logger }),
});

instrumentWorkers(workers, metrics);

closeWithGrace({ delay: 20_000 }, async ({ err, signal }) => {
  if (err) logger.error({ err }, 'closing after an error');
  else logger.info({ signal }, 'shutting down: finishing jobs in flight');
  // Worker.close() stops fetching and waits for active jobs to finish.
  await Promise.all(workers.map((w) => w.close()));
  await queues.close();
  await metrics.close();
  client.close();
  await Promise.all([closeRedis(redis), closeRedis(data)]);
});

logger.info({ queues: workers.map((w) => w.name), api: config.VONAGE_API_URL, auth: auth.kind }, 'dispatching');
