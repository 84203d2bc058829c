import type { Worker } from 'bullmq';
import { MessagesClient, type MessagesClientOptions } from '@tickercast/messages-client';
import { createLogger, fanoutJobId, loadConfig, type Channel, type Config, type MetricsRecorder, type PriceCache, type Queues } from '@tickercast/shared';
import { buildDispatcher, type Dispatcher, type DispatcherDeps } from '../../apps/dispatcher/src/dispatcher.ts';
import { redisEnv, type TestRedis } from './redis.ts';
import type { RunningSimulator } from './simulator.ts';

export interface TestDispatcherOptions {
  offered?: string[];
  concurrency?: number;
  rates?: Record<Channel, number>;
  replyShare?: number;
  /** Further variables, over the ones set here. */
  env?: Record<string, string>;
  /** The clock of the feed's holds (DispatcherDeps.now): a test that moves it moves the time of day. */
  now?: () => number;
}

/**
 * The configuration a test dispatcher runs with: the test's Redis namespace, fast channels, the
 * simulator's business numbers (the config's defaults), and a WhatsApp template the tests name.
 */
export function testConfig(t: TestRedis, opts: TestDispatcherOptions & { apiUrl?: string } = {}): Config {
  const rates = opts.rates ?? { sms: 1000, whatsapp: 1000, messenger: 1000, viber_service: 1000 };
  return loadConfig({
    ...redisEnv(),
    REDIS_NAMESPACE: t.namespace,
    LOG_LEVEL: 'silent',
    ...(opts.apiUrl ? { VONAGE_API_URL: opts.apiUrl } : {}),
    TICKER_SYMBOLS: (opts.offered ?? ['MSFT', 'GOOGL']).join(','),
    DISPATCHER_CONCURRENCY: String(opts.concurrency ?? 10),
    SMS_RATE_PER_SEC: String(rates.sms),
    WHATSAPP_RATE_PER_SEC: String(rates.whatsapp),
    MESSENGER_RATE_PER_SEC: String(rates.messenger),
    VIBER_RATE_PER_SEC: String(rates.viber_service),
    ...(opts.replyShare === undefined ? {} : { REPLY_RATE_SHARE: String(opts.replyShare) }),
    WHATSAPP_TEMPLATE_NAME: 'price_update',
    WHATSAPP_TEMPLATE_LOCALE: 'en_GB',
    ...opts.env,
  });
}

export interface TestDispatcher extends Omit<Dispatcher, 'close'> {
  /** Starts the workers again (a new dispatcher on the same Redis), e.g. after jobs were queued with them stopped. */
  start(concurrency?: number): Promise<Worker[]>;
  /** Stops the workers (and the refill) only: the queues and stores stay usable until start() or close(). */
  stopWorkers(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The dispatcher as production builds it (buildDispatcher), in this process, on the test's Redis,
 * sending to a simulator through a client the test owns: a client of the test's own does no
 * warm-up request that a simulator hook would count.
 */
export async function testDispatcher(
  t: TestRedis,
  sim: RunningSimulator,
  opts: TestDispatcherOptions & { clientOptions?: Partial<MessagesClientOptions>; metrics?: MetricsRecorder; fanoutPageSize?: number; refillAheadS?: number; refillSafetyMs?: number } = {},
): Promise<TestDispatcher> {
  const client = new MessagesClient({ baseUrl: sim.url, auth: sim.auth, ...opts.clientOptions });
  const deps: DispatcherDeps = {
    client,
    logger: createLogger('test', 'silent'),
    fanoutPageSize: opts.fanoutPageSize ?? 100,
    ...(opts.refillAheadS ? { refillAheadS: opts.refillAheadS } : {}),
    ...(opts.refillSafetyMs ? { refillSafetyMs: opts.refillSafetyMs } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  };
  const build = (concurrency = opts.concurrency) => buildDispatcher(testConfig(t, { ...opts, concurrency, apiUrl: sim.url }), deps);
  let current = await build();
  const d: TestDispatcher = {
    get keys() { return current.keys; },
    get queues() { return current.queues; },
    get store() { return current.store; },
    get prices() { return current.prices; },
    get lastSent() { return current.lastSent; },
    get due() { return current.due; },
    get alerts() { return current.alerts; },
    get refiller() { return current.refiller; },
    get deliveries() { return current.deliveries; },
    get replies() { return current.replies; },
    get client() { return current.client; },
    get metrics() { return current.metrics; },
    get processors() { return current.processors; },
    get workers() { return current.workers; },
    async start(concurrency) {
      await current.close();
      current = await build(concurrency);
      return current.workers;
    },
    async stopWorkers() {
      await current.refiller.stop();
      await Promise.all(current.workers.map((w) => w.close()));
      // A job that ended while the workers closed may have started a refill (a fan-out wakes them
      // unawaited): the caller expects none to run on after this.
      await current.refiller.stop();
    },
    async close() {
      await current.close();
      client.close();
    },
  };
  return d;
}

/**
 * A tick's durable half: the symbol's new price, then its fan-out job (which wakes the refill).
 * The ticker also announces it on pub/sub (makeTick, PriceCache.tick); tick-wake.test.ts covers that half.
 */
export async function tick(d: { prices: PriceCache; queues: Queues }, symbol: string, price: number): Promise<void> {
  const q = await d.prices.set(symbol, price);
  await d.queues.fanout.add('fanout', { symbol, version: q.version, tickedAt: Date.now() }, { jobId: fanoutJobId(q) });
}
