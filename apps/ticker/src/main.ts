import closeWithGrace from 'close-with-grace';
import { closeRedis, connectRedis, createLogger, createQueues, loadConfigOrExit, PriceCache, configuredKeys } from '@tickercast/shared';
import { Ticker } from './ticker.ts';

const config = loadConfigOrExit();
const logger = createLogger('ticker', config.LOG_LEVEL);
const keys = configuredKeys(config);
const redis = connectRedis(config, { connectionName: 'ticker' });
const queues = createQueues(redis, keys, { sendPartitions: config.SEND_PARTITIONS });
const ticker = new Ticker({
  symbols: config.TICKER_SYMBOLS,
  intervalMs: config.TICK_INTERVAL_MS,
  redis,
  keys,
  prices: new PriceCache(redis, keys, { historyPoints: config.PRICE_HISTORY_POINTS }),
  queues,
  logger,
});

closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
  if (err) logger.error({ err }, 'closing after an error');
  else logger.info({ signal }, 'shutting down');
  await ticker.stop();
  await queues.close();
  await closeRedis(redis);
});

ticker.start();
logger.info({ symbols: config.TICKER_SYMBOLS, intervalMs: config.TICK_INTERVAL_MS }, 'ticking');
