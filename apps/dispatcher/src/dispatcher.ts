import { hostname } from 'node:os';
import type { Worker } from 'bullmq';
import { MessagesClient } from '@tickercast/messages-client';
import {
  closeRedis,
  ConfigError,
  createLogger,
  createQueues,
  ConfirmationBudget,
  connectRedis,
  DeliveryLog,
  AlertStore,
  DueIndex,
  failoverLegId,
  MetricsRecorder,
  PendingSignups,
  PriceCache,
  ratesFor,
  configuredKeys,
  ReplyPacer,
  senderFor,
  SendWindow,
  SubscriptionStore,
  vonageAuth,
  type Channel,
  type Config,
  type Logger,
  type Queues,
  type RedisClient,
  type RedisKeys,
} from '@tickercast/shared';
import { ensureSubscriptionsLayout } from './subscriptions-layout.ts';
import { createFanoutProcessor } from './fanout.ts';
import { createInboundProcessor } from './inbound.ts';
import { instrumentWorkers } from './instrument.ts';
import { LastSentPrices } from './last-sent.ts';
import { Refiller } from './refill.ts';
import { TickWake } from './tick-wake.ts';
import { outboundSettings } from './outbound.ts';
import { createSendProcessor } from './send.ts';
import { createStatusProcessor } from './status.ts';
import { wakeWorkersOnReconnect } from './wake-on-reconnect.ts';
import { startWorkers } from './workers.ts';

/**
 * What a caller may hand in instead of having it made from the config. Whoever creates a thing
 * closes it (bullmq's habit): what is passed in here is the caller's, and `close()` leaves it open.
 */
export interface DispatcherDeps {
  /** BullMQ's connection: queues, workers (each duplicates it for its blocking reads) and the send schedule. */
  redis?: RedisClient;
  /** The jobs' own reads and writes. Made here, it pipelines every command of one event-loop turn. */
  data?: RedisClient;
  client?: MessagesClient;
  metrics?: MetricsRecorder;
  logger?: Logger;
  /** Subscribers per fan-out page (default 1000). */
  fanoutPageSize?: number;
  /** Seconds of each channel's rate the refill keeps queued (default 2). */
  refillAheadS?: number;
  /** How often the refill runs when nothing wakes it (default 1000 ms). */
  refillSafetyMs?: number;
  /** false: the workers are made but take no job until their `run()` (default true). */
  autorun?: boolean;
  /** The workers' name, kept with each job they take (default `<hostname>:<pid>`: a container's hostname is its id). */
  workerName?: string;
  /** The clock of the feed's holds (EVERY, quiet hours), for the sends and the refill alike (default Date.now): tests move it. */
  now?: () => number;
}

export interface Dispatcher {
  keys: RedisKeys;
  queues: Queues;
  store: SubscriptionStore;
  prices: PriceCache;
  lastSent: LastSentPrices;
  due: DueIndex;
  alerts: AlertStore;
  refiller: Refiller;
  deliveries: DeliveryLog;
  replies: ReplyPacer;
  client: MessagesClient;
  metrics: MetricsRecorder;
  /** What each worker runs, for callers that drive one job by hand (tests, the micro-benchmarks). */
  processors: {
    inbound: ReturnType<typeof createInboundProcessor>;
    fanout: ReturnType<typeof createFanoutProcessor>;
    send: ReturnType<typeof createSendProcessor>;
    status: ReturnType<typeof createStatusProcessor>;
  };
  /** One per queue: inbound, fanout, status, and one send worker per channel. */
  workers: Worker[];
  /** Stops taking jobs, waits for the active ones, then closes what was made here (not what was passed in). */
  close(): Promise<void>;
}

/** The dispatcher's parts from the config, wired as every process runs them; its workers start at once. */
export async function buildDispatcher(config: Config, deps: DispatcherDeps = {}): Promise<Dispatcher> {
  const logger = deps.logger ?? createLogger('dispatcher', config.LOG_LEVEL);
  // Closers of what is made here, in the order made; close() runs them last first, so the
  // metrics flush before the connection they flush on goes.
  const made: (() => Promise<void> | void)[] = [];
  const own = <T>(thing: T, close: (t: T) => Promise<void> | void): T => {
    made.push(() => close(thing));
    return thing;
  };

  const auth = vonageAuth(config);
  if (!deps.client && !auth) {
    throw new ConfigError(['VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY, or VONAGE_API_KEY and VONAGE_API_SECRET: the client needs one pair']);
  }

  const keys = configuredKeys(config);
  const redis = deps.redis ?? own(connectRedis(config, { connectionName: 'dispatcher' }), closeRedis);
  // With dozens of sends in flight, one write per event-loop turn instead of one per command:
  // fewer syscalls and packets for the same work. BullMQ's connection stays as BullMQ expects it.
  const data = deps.data ?? own(connectRedis(config, { connectionName: 'dispatcher-data', enableAutoPipelining: true }), closeRedis);
  const metrics = deps.metrics ?? own(new MetricsRecorder(data, keys), (m) => m.close());
  const client =
    deps.client ??
    own(
      new MessagesClient({
        baseUrl: config.VONAGE_API_URL,
        auth: auth!,
        timeoutMs: config.VONAGE_TIMEOUT_MS,
        onResponse: ({ channel, status, durationMs }) => {
          metrics.inc('tickercast_provider_responses_total', { channel, status: String(status) });
          metrics.observe('tickercast_provider_request_ms', { channel }, durationMs);
        },
      }),
      (c) => c.close(),
    );
  // Before the first job, so that the first message is not late (MessagesClient.prepare); a client
  // passed in is its owner's to prepare.
  if (!deps.client) await client.prepare().catch((err: unknown) => logger.error({ err }, 'the Vonage credentials cannot be used'));

  const rates = ratesFor(config);
  const queues = createQueues(redis, keys, { sendPartitions: config.SEND_PARTITIONS });
  const store = new SubscriptionStore(data, keys);
  const prices = new PriceCache(data, keys);
  const lastSent = new LastSentPrices(data, keys);
  const deliveries = new DeliveryLog(data, keys);
  const replies = new ReplyPacer(queues, data, keys, { rates, share: config.REPLY_RATE_SHARE });
  const due = new DueIndex(data, keys);
  const alerts = new AlertStore(data, keys);
  // Before the first refill: after an upgrade, the subscriptions already in Redis get their index.
  await ensureSubscriptionsLayout(data, keys, logger);
  const tickWake = own(
    new TickWake(
      redis,
      keys.tickAnnouncements,
      (ticks) => {
        if (!refiller.started) return false;
        void refiller.wake(ticks);
        return true;
      },
      logger,
    ),
    (w) => w.close(),
  );
  // The refill's round trips are a tick's way to its first sends: on BullMQ's connection, which
  // sends each command at once (as the send window's), not on the data connection, whose batches
  // wait for the end of the event-loop turn and for the batch before them to be answered.
  const refiller = new Refiller({ redis, keys, due: new DueIndex(redis, keys), alerts: new AlertStore(redis, keys), prices: new PriceCache(redis, keys), queues, rates, logger, ...(deps.refillAheadS ? { aheadS: deps.refillAheadS } : {}), ...(deps.refillSafetyMs ? { safetyMs: deps.refillSafetyMs } : {}), ...(deps.now ? { now: deps.now } : {}) });
  // Every send takes a slot with a place in its channel's window (SendPacer, on BullMQ's connection:
  // no pipelining to delay it), and gives the place back when the provider has answered, so that
  // no rolling second at the provider holds more than the rate.
  const window = new SendWindow(redis, keys, rates, config.VONAGE_TIMEOUT_MS);
  const windowed = {
    async send(message: Parameters<MessagesClient['send']>[0]) {
      try {
        return await client.send(message);
      } finally {
        // clientRef is the send job's id: the place its slot came with on its channel (and its failover leg's, counted as arrived now).
        if (message.clientRef) {
          window.release(message.channel as Channel, message.clientRef);
          const leg = message.failover?.[0];
          if (leg) window.release(leg.channel as Channel, failoverLegId(message.clientRef));
        }
      }
    },
  };
  const processors = {
    inbound: createInboundProcessor({
      store,
      alerts,
      prices,
      replies,
      lastSent,
      signups: new PendingSignups(data, keys),
      pendingTtlS: config.SIGNUP_PENDING_TTL_S,
      confirmations: new ConfirmationBudget(data, keys, 'fallback-requester', {
        perRequesterPerHour: config.SIGNUP_RATE_LIMIT,
        perNumberPerDay: config.SIGNUP_NUMBER_RATE_LIMIT,
        countryBudgetPerMinute: config.SIGNUP_COUNTRY_BUDGET_PER_MINUTE,
        budgetPerMinute: config.SIGNUP_BUDGET_PER_MINUTE,
      }),
      offered: config.TICKER_SYMBOLS,
      logger,
    }),
    fanout: createFanoutProcessor({ store, queues, wake: () => refiller.wake(), heard: (symbol, version) => tickWake.heard(symbol, version), ...(deps.fanoutPageSize ? { pageSize: deps.fanoutPageSize } : {}) }),
    send: createSendProcessor({
      client: windowed,
      store,
      prices,
      lastSent,
      due,
      alerts,
      deliveries,
      senders: senderFor(config),
      outbound: outboundSettings(config),
      ...(deps.now ? { now: deps.now } : {}),
    }),
    status: createStatusProcessor({ deliveries, store, logger, metrics, replies }),
  };

  const workers = startWorkers({
    connection: redis,
    keys,
    logger,
    concurrency: config.DISPATCHER_CONCURRENCY,
    sendPartitions: queues.sendPartitions,
    rates,
    replyShare: config.REPLY_RATE_SHARE,
    window,
    async promoteFeed(channel, partition) {
      // The next feed update in line (the prioritized set's first) to the head of the waiting list, ahead of the replies there.
      const [next] = await queues.sendQueues[channel][partition]!.getPrioritized(0, 0);
      await next?.changePriority({ priority: 0, lifo: true });
    },
    feedSettled: (channel, startedAt) => refiller.settled(channel, startedAt),
    autorun: deps.autorun ?? true,
    name: deps.workerName ?? `${hostname()}:${process.pid}`,
    ...processors,
  });
  instrumentWorkers(workers, metrics);
  if (deps.autorun ?? true) refiller.start();
  await tickWake.start();
  const stopWaking = wakeWorkersOnReconnect(redis, queues.all(), logger);

  return {
    keys,
    queues,
    store,
    prices,
    lastSent,
    due,
    alerts,
    refiller,
    deliveries,
    replies,
    client,
    metrics,
    processors,
    workers,
    async close() {
      await refiller.close();
      stopWaking();
      // Worker.close() stops fetching and waits for the active jobs to finish.
      await Promise.all(workers.map((w) => w.close()));
      await queues.close();
      for (const close of made.reverse()) await close();
    },
  };
}
