import type { FastifyInstance } from 'fastify';
import { createQueues, redisKeys, type Queues, type RedisKeys } from '@tickercast/shared';
import { buildIngress, type IngressDeps } from '../src/app.ts';
import type { TestRedis } from '../../../test/support/redis.ts';

export interface TestIngress {
  app: FastifyInstance;
  queues: Queues;
  keys: RedisKeys;
  /** Jobs in every queue, in every state. */
  totalJobs(): Promise<number>;
  close(): Promise<void>;
}

let n = 0;

/** An ingress on its own sub-namespace of the file's test Redis, so each test starts from empty queues. */
export async function testIngress(t: TestRedis, settings: Omit<Partial<IngressDeps>, 'queues' | 'redis' | 'keys'> = {}): Promise<TestIngress> {
  const keys = redisKeys(`${t.namespace}:${n++}`);
  const queues = createQueues(t.redis, keys);
  const app = buildIngress({ queues, redis: t.redis, keys, ...settings });
  await app.ready();
  return {
    app,
    queues,
    keys,
    async totalJobs() {
      let total = 0;
      for (const q of queues.all()) total += Object.values(await q.getJobCounts()).reduce((a, b) => a + b, 0);
      return total;
    },
    async close() {
      await app.close();
      await queues.close();
    },
  };
}
