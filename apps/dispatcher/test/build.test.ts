import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessagesClient } from '@tickercast/messages-client';
import { closeRedis, createLogger, loadConfig, type RedisClient } from '@tickercast/shared';
import { buildDispatcher } from '../src/dispatcher.ts';
import { testConfig } from '../../../test/support/dispatcher.ts';
import { until } from '../../../test/support/processes.ts';
import { redisEnv, testConnection, testRedis, type TestRedis } from '../../../test/support/redis.ts';

/*
 * Whoever creates a connection closes it: what buildDispatcher makes, its close() ends; what a
 * caller passes in stays open for the caller.
 */
describe('buildDispatcher', () => {
  let t: TestRedis;
  // Never reached: no worker runs here.
  const client = new MessagesClient({ baseUrl: 'http://127.0.0.1:9', auth: { kind: 'basic', apiKey: 'unused', apiSecret: 'unused' } });
  const logger = createLogger('test', 'silent');

  beforeAll(() => {
    t = testRedis();
  });
  afterAll(async () => {
    client.close();
    await t.cleanup();
  });

  it('close() ends the Redis connection it made and leaves the one passed in open', async () => {
    const data = testConnection({ connectionName: 'test-data' });
    try {
      const d = await buildDispatcher(testConfig(t), { data, client, logger, autorun: false });
      // The queues run on BullMQ's connection, which it made here.
      const made = d.queues.inbound.opts.connection as RedisClient;
      expect(made).not.toBe(data);
      await d.close();
      // QUIT is answered before the socket is gone.
      await until('the connection it made ends', () => made.status === 'end', 2000);
      expect(await data.ping()).toBe('PONG');
    } finally {
      await closeRedis(data);
    }
  });

  it('without a client passed in, it needs Vonage credentials, and says which', async () => {
    await expect(buildDispatcher(loadConfig({ ...redisEnv(), REDIS_NAMESPACE: t.namespace }), { logger })).rejects.toThrow(/VONAGE_APPLICATION_ID/);
  });
});
