/**
 * The bare-BullMQ baseline's worker, in a process of its own as a dispatcher is: one Worker on
 * one queue, no-op jobs, the dispatcher's concurrency (and, with BASELINE_RATE, the limiter a
 * dispatcher's send queue gets at that rate). Started and stopped by bench/scenarios/baseline.ts.
 */
import { Worker } from 'bullmq';
import { closeRedis, createRedis, sendFetchLimiter, redisKeys } from '@tickercast/shared';

const env = process.env;
const connection = createRedis(env.REDIS_URL!, { connectionName: 'bench-baseline' });
const rate = Number(env.BASELINE_RATE ?? 0);
const worker = new Worker(env.BASELINE_QUEUE!, async () => undefined, {
  connection,
  prefix: redisKeys(env.REDIS_NAMESPACE ?? 'bench').queuePrefix(env.BASELINE_QUEUE!),
  concurrency: Number(env.BASELINE_CONCURRENCY ?? 50),
  ...(rate > 0 ? { limiter: sendFetchLimiter(rate) } : {}),
});
worker.on('error', (err) => console.error(err));

const stop = async () => {
  await worker.close();
  await closeRedis(connection);
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
console.log('baseline worker ready');
